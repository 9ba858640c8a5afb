"""The 2D platformer preset's scripts: player controller, camera follow and physics settings."""

from __future__ import annotations

from spark.engines.unity.preset_scripts.platformer_player import PLAYER_CONTROLLER

FOLDER = "Assets/Scripts/Platformer"

CAMERA_FOLLOW = """\
using UnityEngine;

/// <summary>
/// Follows a target with an orthographic camera, smoothed by SmoothDamp, with optional
/// level bounds that keep the view's edges inside the level.
/// </summary>
[RequireComponent(typeof(Camera))]
[DisallowMultipleComponent]
public class CameraFollow2D : MonoBehaviour
{
    [SerializeField, Tooltip("The transform followed, usually the player.")]
    private Transform target;

    [SerializeField, Tooltip("Offset from the target; a negative z keeps the scene in view.")]
    private Vector3 offset = new Vector3(0f, 1f, -10f);

    [SerializeField, Min(0f), Tooltip("Approximate seconds the camera takes to catch up.")]
    private float smoothTime = 0.15f;

    [SerializeField, Min(0f), Tooltip("How far ahead of a moving target the camera looks.")]
    private float lookAhead = 1.5f;

    [Header("Bounds")]
    [SerializeField, Tooltip("Whether the view is kept inside the bounds below.")]
    private bool useBounds = true;

    [SerializeField, Tooltip("Lower-left corner of the level in world units.")]
    private Vector2 minBounds = new Vector2(-20f, -5f);

    [SerializeField, Tooltip("Upper-right corner of the level in world units.")]
    private Vector2 maxBounds = new Vector2(20f, 15f);

    private Camera cam;
    private Vector3 velocity;
    private Vector3 lastTargetPosition;

    /// <summary>The transform followed; setting it snaps the camera there.</summary>
    public Transform Target
    {
        get => target;
        set
        {
            target = value;
            SnapToTarget();
        }
    }

    /// <summary>Replaces the level bounds, for example when entering a new room.</summary>
    public void SetBounds(Vector2 min, Vector2 max)
    {
        minBounds = Vector2.Min(min, max);
        maxBounds = Vector2.Max(min, max);
        useBounds = true;
    }

    /// <summary>Moves the camera onto the target at once, skipping the smoothing.</summary>
    public void SnapToTarget()
    {
        if (target == null)
        {
            return;
        }

        lastTargetPosition = target.position;
        velocity = Vector3.zero;
        transform.position = ClampToBounds(target.position + offset);
    }

    private void Awake()
    {
        cam = GetComponent<Camera>();
    }

    private void Start()
    {
        SnapToTarget();
    }

    private void LateUpdate()
    {
        // LateUpdate runs after the target moved this frame, so the camera never lags a frame.
        if (target == null)
        {
            return;
        }

        Vector3 targetPosition = target.position;
        float deltaX = targetPosition.x - lastTargetPosition.x;
        lastTargetPosition = targetPosition;
        float ahead = Mathf.Abs(deltaX) > 0.001f ? Mathf.Sign(deltaX) * lookAhead : 0f;
        Vector3 desired = targetPosition + offset + new Vector3(ahead, 0f, 0f);
        Vector3 smoothed = Vector3.SmoothDamp(
            transform.position, desired, ref velocity, smoothTime);
        transform.position = ClampToBounds(smoothed);
    }

    private Vector3 ClampToBounds(Vector3 position)
    {
        if (!useBounds || cam == null || !cam.orthographic)
        {
            return position;
        }

        // Clamp the view's edges, not its centre, so nothing outside the level shows.
        float halfHeight = cam.orthographicSize;
        float halfWidth = halfHeight * cam.aspect;
        position.x = ClampAxis(position.x, minBounds.x + halfWidth, maxBounds.x - halfWidth);
        position.y = ClampAxis(position.y, minBounds.y + halfHeight, maxBounds.y - halfHeight);
        return position;
    }

    private static float ClampAxis(float value, float min, float max)
    {
        // A level smaller than the view is centred rather than clamped back and forth.
        return min > max ? (min + max) * 0.5f : Mathf.Clamp(value, min, max);
    }

    private void OnDrawGizmosSelected()
    {
        if (!useBounds)
        {
            return;
        }

        Gizmos.color = Color.cyan;
        Vector3 center = (minBounds + maxBounds) * 0.5f;
        Gizmos.DrawWireCube(center, maxBounds - minBounds);
    }
}
"""

PHYSICS_SETTINGS = """\
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
"""

PHYSICS_SETUP = """\
using UnityEngine;

/// <summary>
/// Applies a PlatformerPhysicsSettings asset to the physics world when the scene loads,
/// before any other script's Awake reads gravity.
/// </summary>
[DefaultExecutionOrder(-100)]
[DisallowMultipleComponent]
public class PlatformerPhysicsSetup : MonoBehaviour
{
    [SerializeField, Tooltip("The physics settings asset applied when the scene loads.")]
    private PlatformerPhysicsSettings settings;

    private void Awake()
    {
        if (settings == null)
        {
            Debug.LogWarning("PlatformerPhysicsSetup has no settings asset; "
                + "keeping the project's physics settings.", this);
            return;
        }

        settings.ApplyGlobal();
    }
}
"""

FILES: tuple[tuple[str, str], ...] = (
    (f"{FOLDER}/PlayerController2D.cs", PLAYER_CONTROLLER),
    (f"{FOLDER}/CameraFollow2D.cs", CAMERA_FOLLOW),
    (f"{FOLDER}/PlatformerPhysicsSettings.cs", PHYSICS_SETTINGS),
    (f"{FOLDER}/PlatformerPhysicsSetup.cs", PHYSICS_SETUP),
)
