using System;
using UnityEngine;

/// <summary>
/// Side-scrolling player movement on a Rigidbody2D: running with acceleration, variable-height
/// jumps with coyote time and jump buffering, and a ground check against a layer mask.
/// </summary>
/// <remarks>
/// Reads the legacy Input Manager axes "Horizontal", "Jump" and "Fire3" (run), which exist in
/// every new project. Put an empty child at the character's feet and assign it as Ground Check.
/// </remarks>
[RequireComponent(typeof(Rigidbody2D))]
[DisallowMultipleComponent]
public class PlayerController2D : MonoBehaviour
{
    [Header("Running")]
    [SerializeField, Min(0f), Tooltip("Top horizontal speed while walking, in units per second.")]
    private float walkSpeed = 6f;

    [SerializeField, Min(0f), Tooltip("Top horizontal speed while the Run button is held.")]
    private float runSpeed = 9f;

    [SerializeField, Min(0f), Tooltip("Speed gained per second while input is held.")]
    private float acceleration = 60f;

    [SerializeField, Min(0f), Tooltip("Speed lost per second once input is released.")]
    private float deceleration = 80f;

    [SerializeField, Range(0f, 1f), Tooltip("Share of ground control kept while airborne.")]
    private float airControl = 0.65f;

    [Header("Jumping")]
    [SerializeField, Min(0f), Tooltip("Upward speed a jump starts with, in units per second.")]
    private float jumpSpeed = 12f;

    [SerializeField, Min(0f), Tooltip("Seconds after walking off a ledge when a jump still works.")]
    private float coyoteTime = 0.1f;

    [SerializeField, Min(0f), Tooltip("Seconds a jump press is remembered before landing.")]
    private float jumpBufferTime = 0.1f;

    [SerializeField, Range(0f, 1f), Tooltip("Share of rising speed kept on an early Jump release.")]
    private float jumpCutMultiplier = 0.5f;

    [Header("Ground Check")]
    [SerializeField, Tooltip("Point at the character's feet where ground is looked for.")]
    private Transform groundCheck;

    [SerializeField, Min(0.01f), Tooltip("Radius of the circle tested for ground.")]
    private float groundCheckRadius = 0.15f;

    [SerializeField, Tooltip("Layers that count as ground.")]
    private LayerMask groundLayer = 1;

    [Header("Physics")]
    [SerializeField, Tooltip("Gravity scale, fall multiplier and fall speed cap; optional.")]
    private PlatformerPhysicsSettings physicsSettings;

    private Rigidbody2D body;
    private float horizontalInput;
    private bool runHeld;
    private bool jumpReleased;
    private bool isJumping;
    private bool isGrounded;
    private bool isFacingRight = true;
    private float coyoteTimer;
    private float jumpBufferTimer;

    /// <summary>Raised on the physics step a jump starts.</summary>
    public event Action Jumped;

    /// <summary>Raised on the physics step the character lands after being airborne.</summary>
    public event Action Landed;

    /// <summary>Whether the character stood on ground at the last physics step.</summary>
    public bool IsGrounded => isGrounded;

    /// <summary>Whether the character faces right; turning flips the transform's scale.</summary>
    public bool IsFacingRight => isFacingRight;

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

    private void Awake()
    {
        body = GetComponent<Rigidbody2D>();
        // A platformer character must never tip over on slopes or ledges.
        body.freezeRotation = true;
        body.interpolation = RigidbodyInterpolation2D.Interpolate;
        body.gravityScale = BaseGravityScale();
    }

    private void Update()
    {
        // Input is read every frame so presses between physics steps are never lost.
        horizontalInput = Input.GetAxisRaw("Horizontal");
        runHeld = Input.GetButton("Fire3");
        if (Input.GetButtonDown("Jump"))
        {
            jumpBufferTimer = jumpBufferTime;
        }
        else
        {
            jumpBufferTimer -= Time.deltaTime;
        }

        if (Input.GetButtonUp("Jump"))
        {
            jumpReleased = true;
        }
    }

    private void FixedUpdate()
    {
        UpdateGrounded();
        Run();
        TryJump();
        CutJump();
        ApplyFallGravity();
        UpdateFacing();
    }

    private void UpdateGrounded()
    {
        bool wasGrounded = isGrounded;
        Vector2 feet = groundCheck != null ? (Vector2)groundCheck.position : body.position;
        isGrounded = Physics2D.OverlapCircle(feet, groundCheckRadius, groundLayer) != null;
        if (!isGrounded)
        {
            coyoteTimer -= Time.fixedDeltaTime;
            return;
        }

        coyoteTimer = coyoteTime;
        // Right after take-off the check still touches the ground while the body rises.
        if (Velocity.y <= 0.01f)
        {
            isJumping = false;
        }

        if (!wasGrounded)
        {
            Landed?.Invoke();
        }
    }

    private void Run()
    {
        float topSpeed = runHeld ? runSpeed : walkSpeed;
        float targetSpeed = horizontalInput * topSpeed;
        float rate = Mathf.Abs(targetSpeed) > 0.01f ? acceleration : deceleration;
        if (!isGrounded)
        {
            rate *= airControl;
        }

        Vector2 velocity = Velocity;
        velocity.x = Mathf.MoveTowards(velocity.x, targetSpeed, rate * Time.fixedDeltaTime);
        Velocity = velocity;
    }

    private void TryJump()
    {
        if (jumpBufferTimer <= 0f || coyoteTimer <= 0f || isJumping)
        {
            return;
        }

        // Spend both windows so one press cannot trigger a second jump mid-air.
        jumpBufferTimer = 0f;
        coyoteTimer = 0f;
        isJumping = true;
        jumpReleased = false;
        Velocity = new Vector2(Velocity.x, jumpSpeed);
        Jumped?.Invoke();
    }

    private void CutJump()
    {
        if (!jumpReleased)
        {
            return;
        }

        jumpReleased = false;
        Vector2 velocity = Velocity;
        if (isJumping && velocity.y > 0f)
        {
            velocity.y *= jumpCutMultiplier;
            Velocity = velocity;
        }
    }

    private void ApplyFallGravity()
    {
        if (physicsSettings == null)
        {
            return;
        }

        bool falling = Velocity.y < 0f;
        body.gravityScale = falling
            ? BaseGravityScale() * physicsSettings.FallGravityMultiplier
            : BaseGravityScale();
        if (falling && Velocity.y < -physicsSettings.MaxFallSpeed)
        {
            Velocity = new Vector2(Velocity.x, -physicsSettings.MaxFallSpeed);
        }
    }

    private void UpdateFacing()
    {
        if (Mathf.Approximately(horizontalInput, 0f) || (horizontalInput > 0f) == isFacingRight)
        {
            return;
        }

        isFacingRight = !isFacingRight;
        Vector3 scale = transform.localScale;
        scale.x = -scale.x;
        transform.localScale = scale;
    }

    private float BaseGravityScale()
    {
        return physicsSettings != null ? physicsSettings.GravityScale : body.gravityScale;
    }

    private void OnDrawGizmosSelected()
    {
        if (groundCheck == null)
        {
            return;
        }

        Gizmos.color = isGrounded ? Color.green : Color.red;
        Gizmos.DrawWireSphere(groundCheck.position, groundCheckRadius);
    }
}
