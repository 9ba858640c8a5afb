using UnityEngine;

/// <summary>
/// Gravity and fall tuning shared by the platformer's characters, kept in an asset so
/// designers can tweak the game's feel without touching code or prefabs.
/// </summary>
[CreateAssetMenu(fileName = "PlatformerPhysicsSettings", menuName = "Platformer/Physics Settings")]
public class PlatformerPhysicsSettings : ScriptableObject
{
    [SerializeField, Tooltip("World gravity for every Rigidbody2D, in units per second squared.")]
    private Vector2 gravity = new Vector2(0f, -30f);

    [SerializeField, Min(0f), Tooltip("Gravity scale given to platformer characters.")]
    private float gravityScale = 1f;

    [SerializeField, Min(1f), Tooltip("Gravity multiplier while falling, for a snappier arc.")]
    private float fallGravityMultiplier = 1.8f;

    [SerializeField, Min(0f), Tooltip("Fastest downward speed, in units per second.")]
    private float maxFallSpeed = 20f;

    [SerializeField, Tooltip("Whether raycasts starting inside a collider hit it; off suits "
        + "ground checks cast from inside the character.")]
    private bool queriesStartInColliders;

    /// <summary>World gravity for every Rigidbody2D.</summary>
    public Vector2 Gravity => gravity;

    /// <summary>Gravity scale given to platformer characters.</summary>
    public float GravityScale => gravityScale;

    /// <summary>Gravity multiplier applied while a character falls.</summary>
    public float FallGravityMultiplier => fallGravityMultiplier;

    /// <summary>Fastest downward speed a character reaches.</summary>
    public float MaxFallSpeed => maxFallSpeed;

    /// <summary>Applies the world-wide settings to Physics2D.</summary>
    public void ApplyGlobal()
    {
        Physics2D.gravity = gravity;
        Physics2D.queriesStartInColliders = queriesStartInColliders;
    }
}
