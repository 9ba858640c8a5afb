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
