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
