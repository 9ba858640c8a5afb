using UnityEngine;

/// <summary>
/// Top-down movement in 8 directions on a Rigidbody2D, with diagonal input normalized so
/// moving diagonally is no faster than moving straight.
/// </summary>
/// <remarks>
/// Reads the legacy Input Manager axes "Horizontal" and "Vertical". The body's gravity is
/// switched off because a top-down world has no down.
/// </remarks>
[RequireComponent(typeof(Rigidbody2D))]
[DisallowMultipleComponent]
public class TopDownMovement : MonoBehaviour
{
    private const float DeadZone = 0.2f;
    private const float EighthTurn = Mathf.PI / 4f;

    [SerializeField, Min(0f), Tooltip("Top speed in units per second.")]
    private float moveSpeed = 5f;

    [SerializeField, Min(0f), Tooltip("Speed gained or lost per second; higher feels snappier.")]
    private float acceleration = 50f;

    [SerializeField, Tooltip("Whether analog input snaps to the 8 compass directions.")]
    private bool snapToEightDirections = true;

    private Rigidbody2D body;
    private Vector2 moveInput;
    private Vector2 facing = Vector2.down;
    private bool inputEnabled = true;

    /// <summary>The last direction moved in, for aiming attacks and choosing animations.</summary>
    public Vector2 Facing => facing;

    /// <summary>Whether there is movement input this frame.</summary>
    public bool IsMoving => moveInput.sqrMagnitude > 0f;

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

    /// <summary>Turns player input on or off, for cutscenes, dialogue or knockback.</summary>
    public void SetInputEnabled(bool isEnabled)
    {
        inputEnabled = isEnabled;
        if (!isEnabled)
        {
            moveInput = Vector2.zero;
        }
    }

    /// <summary>
    /// Input as a direction of length 1 or 0: dead zone applied, diagonals normalized, and
    /// optionally snapped to the nearest of the 8 compass directions.
    /// </summary>
    public static Vector2 ToMoveDirection(Vector2 raw, bool snapToEight)
    {
        if (raw.sqrMagnitude < DeadZone * DeadZone)
        {
            return Vector2.zero;
        }

        if (!snapToEight)
        {
            // Keyboard diagonals arrive as (1, 1), about 41% longer than a straight move.
            return raw.normalized;
        }

        float angle = Mathf.Round(Mathf.Atan2(raw.y, raw.x) / EighthTurn) * EighthTurn;
        return new Vector2(Mathf.Cos(angle), Mathf.Sin(angle));
    }

    private void Awake()
    {
        body = GetComponent<Rigidbody2D>();
        body.gravityScale = 0f;
        body.freezeRotation = true;
        body.interpolation = RigidbodyInterpolation2D.Interpolate;
    }

    private void Update()
    {
        if (!inputEnabled)
        {
            return;
        }

        var raw = new Vector2(Input.GetAxisRaw("Horizontal"), Input.GetAxisRaw("Vertical"));
        moveInput = ToMoveDirection(raw, snapToEightDirections);
        if (moveInput.sqrMagnitude > 0f)
        {
            facing = moveInput;
        }
    }

    private void FixedUpdate()
    {
        Vector2 target = moveInput * moveSpeed;
        Velocity = Vector2.MoveTowards(Velocity, target, acceleration * Time.fixedDeltaTime);
    }
}
