using System;
using UnityEngine;

/// <summary>The states an EnemyAI moves between.</summary>
public enum EnemyState
{
    Patrol,
    Chase,
    Attack,
}

/// <summary>
/// A top-down enemy driven by a small state machine: it patrols between points, chases a
/// target it can see, and attacks the target's Health when in range.
/// </summary>
[RequireComponent(typeof(Rigidbody2D))]
[DisallowMultipleComponent]
public class EnemyAI : MonoBehaviour
{
    [Header("Patrol")]
    [SerializeField, Tooltip("Points walked between in order while no target is in sight.")]
    private Transform[] patrolPoints = Array.Empty<Transform>();

    [SerializeField, Min(0f), Tooltip("Walking speed while patrolling, in units per second.")]
    private float patrolSpeed = 2f;

    [SerializeField, Min(0f), Tooltip("Seconds spent waiting at each patrol point.")]
    private float waitAtPoint = 1f;

    [SerializeField, Min(0.01f), Tooltip("How close to a patrol point counts as reaching it.")]
    private float arriveDistance = 0.1f;

    [Header("Chase")]
    [SerializeField, Tooltip("The target chased and attacked; the object tagged Player if empty.")]
    private Transform target;

    [SerializeField, Min(0f), Tooltip("Running speed while chasing, in units per second.")]
    private float chaseSpeed = 3.5f;

    [SerializeField, Min(0f), Tooltip("Distance at which the enemy notices the target.")]
    private float detectionRange = 5f;

    [SerializeField, Min(0f), Tooltip("Distance at which the enemy gives up the chase.")]
    private float loseRange = 7f;

    [SerializeField, Tooltip("Layers that block the enemy's line of sight, such as walls.")]
    private LayerMask obstacleLayers;

    [Header("Attack")]
    [SerializeField, Min(0f), Tooltip("Distance at which the enemy stops and attacks.")]
    private float attackRange = 1f;

    [SerializeField, Min(0), Tooltip("Damage dealt to the target's Health per attack.")]
    private int attackDamage = 1;

    [SerializeField, Min(0f), Tooltip("Seconds between attacks.")]
    private float attackCooldown = 1f;

    private Rigidbody2D body;
    private Health targetHealth;
    private EnemyState state = EnemyState.Patrol;
    private int patrolIndex;
    private float waitTimer;
    private float nextAttackTime;

    /// <summary>Raised with the new state whenever the state changes.</summary>
    public event Action<EnemyState> StateChanged;

    /// <summary>Raised each time an attack is made, for animations and sounds.</summary>
    public event Action Attacked;

    /// <summary>The state the enemy is in.</summary>
    public EnemyState State => state;

    /// <summary>The body's velocity (Rigidbody2D.linearVelocity from Unity 6 on).</summary>
    public Vector2 Velocity
    {
        get
        {
#if UNITY_6000_0_OR_NEWER
            return body.linearVelocity;
#else
            return body.velocity;
#endif
        }
        private set
        {
#if UNITY_6000_0_OR_NEWER
            body.linearVelocity = value;
#else
            body.velocity = value;
#endif
        }
    }

    /// <summary>Sets the target to chase, for example after a respawn.</summary>
    public void SetTarget(Transform newTarget)
    {
        target = newTarget;
        targetHealth = newTarget != null ? newTarget.GetComponent<Health>() : null;
    }

    private void Awake()
    {
        body = GetComponent<Rigidbody2D>();
        body.gravityScale = 0f;
        body.freezeRotation = true;
    }

    private void Start()
    {
        if (target == null)
        {
            GameObject player = GameObject.FindWithTag("Player");
            target = player != null ? player.transform : null;
        }

        SetTarget(target);
    }

    private void FixedUpdate()
    {
        switch (state)
        {
            case EnemyState.Patrol:
                TickPatrol();
                break;
            case EnemyState.Chase:
                TickChase();
                break;
            case EnemyState.Attack:
                TickAttack();
                break;
        }
    }

    private void TickPatrol()
    {
        if (CanSeeTarget())
        {
            ChangeState(EnemyState.Chase);
            return;
        }

        if (patrolPoints.Length == 0 || waitTimer > 0f)
        {
            waitTimer -= Time.fixedDeltaTime;
            Velocity = Vector2.zero;
            return;
        }

        Vector2 point = patrolPoints[patrolIndex].position;
        if (Vector2.Distance(body.position, point) <= arriveDistance)
        {
            patrolIndex = (patrolIndex + 1) % patrolPoints.Length;
            waitTimer = waitAtPoint;
            Velocity = Vector2.zero;
            return;
        }

        MoveTowards(point, patrolSpeed);
    }

    private void TickChase()
    {
        if (!HasLiveTarget() || DistanceToTarget() > loseRange)
        {
            ChangeState(EnemyState.Patrol);
            return;
        }

        if (DistanceToTarget() <= attackRange)
        {
            ChangeState(EnemyState.Attack);
            return;
        }

        MoveTowards(target.position, chaseSpeed);
    }

    private void TickAttack()
    {
        Velocity = Vector2.zero;
        if (!HasLiveTarget())
        {
            ChangeState(EnemyState.Patrol);
            return;
        }

        // A little slack stops the enemy flickering between chase and attack at the edge.
        if (DistanceToTarget() > attackRange * 1.1f)
        {
            ChangeState(EnemyState.Chase);
            return;
        }

        if (Time.time < nextAttackTime)
        {
            return;
        }

        nextAttackTime = Time.time + attackCooldown;
        if (targetHealth != null)
        {
            targetHealth.TakeDamage(attackDamage);
        }

        Attacked?.Invoke();
    }

    private void ChangeState(EnemyState next)
    {
        if (next == state)
        {
            return;
        }

        state = next;
        StateChanged?.Invoke(next);
    }

    private bool HasLiveTarget()
    {
        return target != null && (targetHealth == null || !targetHealth.IsDead);
    }

    private bool CanSeeTarget()
    {
        if (!HasLiveTarget() || DistanceToTarget() > detectionRange)
        {
            return false;
        }

        // A wall between the enemy and the target hides it.
        Vector2 toTarget = (Vector2)target.position - body.position;
        RaycastHit2D hit = Physics2D.Raycast(
            body.position, toTarget.normalized, toTarget.magnitude, obstacleLayers);
        return hit.collider == null;
    }

    private float DistanceToTarget()
    {
        return Vector2.Distance(body.position, target.position);
    }

    private void MoveTowards(Vector2 destination, float speed)
    {
        Velocity = (destination - body.position).normalized * speed;
    }

    private void OnValidate()
    {
        loseRange = Mathf.Max(loseRange, detectionRange);
    }

    private void OnDrawGizmosSelected()
    {
        Gizmos.color = Color.yellow;
        Gizmos.DrawWireSphere(transform.position, detectionRange);
        Gizmos.color = Color.red;
        Gizmos.DrawWireSphere(transform.position, attackRange);
    }
}
