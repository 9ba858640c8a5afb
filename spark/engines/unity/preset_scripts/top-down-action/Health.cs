using System;
using UnityEngine;

/// <summary>
/// Hit points for the player or an enemy: damage with brief invulnerability, healing,
/// and events for the UI, effects and game flow.
/// </summary>
[DisallowMultipleComponent]
public class Health : MonoBehaviour
{
    [SerializeField, Min(1), Tooltip("Hit points at full health.")]
    private int maxHealth = 5;

    [SerializeField, Min(0f), Tooltip("Seconds after a hit during which more damage is ignored.")]
    private float invulnerabilityTime = 0.5f;

    [SerializeField, Tooltip("Whether the GameObject is destroyed when health reaches zero.")]
    private bool destroyOnDeath;

    private int currentHealth;
    private float invulnerableUntil;

    /// <summary>Raised with the current and maximum health whenever health changes.</summary>
    public event Action<int, int> HealthChanged;

    /// <summary>Raised with the damage dealt when a hit lands.</summary>
    public event Action<int> Damaged;

    /// <summary>Raised once when health reaches zero.</summary>
    public event Action Died;

    /// <summary>Current hit points.</summary>
    public int CurrentHealth => currentHealth;

    /// <summary>Hit points at full health.</summary>
    public int MaxHealth => maxHealth;

    /// <summary>Whether health has reached zero.</summary>
    public bool IsDead => currentHealth <= 0;

    /// <summary>Whether hits are being ignored right after the last one.</summary>
    public bool IsInvulnerable => Time.time < invulnerableUntil;

    /// <summary>Deals damage unless dead or invulnerable; returns whether the hit landed.</summary>
    public bool TakeDamage(int amount)
    {
        if (amount <= 0 || IsDead || IsInvulnerable)
        {
            return false;
        }

        currentHealth = Mathf.Max(currentHealth - amount, 0);
        invulnerableUntil = Time.time + invulnerabilityTime;
        Damaged?.Invoke(amount);
        HealthChanged?.Invoke(currentHealth, maxHealth);
        if (currentHealth == 0)
        {
            Die();
        }

        return true;
    }

    /// <summary>Restores hit points, up to the maximum; the dead stay dead.</summary>
    public void Heal(int amount)
    {
        if (amount <= 0 || IsDead)
        {
            return;
        }

        currentHealth = Mathf.Min(currentHealth + amount, maxHealth);
        HealthChanged?.Invoke(currentHealth, maxHealth);
    }

    /// <summary>Brings health back to full, for respawns and restarts.</summary>
    public void ResetHealth()
    {
        currentHealth = maxHealth;
        invulnerableUntil = 0f;
        HealthChanged?.Invoke(currentHealth, maxHealth);
    }

    private void Awake()
    {
        currentHealth = maxHealth;
    }

    private void Die()
    {
        Died?.Invoke();
        if (destroyOnDeath)
        {
            Destroy(gameObject);
        }
    }
}
