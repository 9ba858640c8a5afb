using System;
using System.Collections;
using UnityEngine;
using UnityEngine.SceneManagement;

/// <summary>
/// Loads scenes behind a fade: fades a CanvasGroup to opaque, loads the scene with
/// SceneManager.LoadSceneAsync, then fades back in.
/// </summary>
/// <remarks>
/// Put it on a full-screen black Image under its own Canvas with a high sort order. It
/// survives scene loads, so one instance in the first scene serves the whole game.
/// </remarks>
[RequireComponent(typeof(CanvasGroup))]
[DisallowMultipleComponent]
public class SceneTransition : MonoBehaviour
{
    [SerializeField, Min(0f), Tooltip("Seconds each fade, out and back in, takes.")]
    private float fadeDuration = 0.5f;

    [SerializeField, Tooltip("Whether the scene this starts in fades in from black.")]
    private bool fadeInOnStart = true;

    private CanvasGroup canvasGroup;
    private bool isTransitioning;

    /// <summary>The instance kept across scene loads, or null before one has woken.</summary>
    public static SceneTransition Instance { get; private set; }

    /// <summary>Raised with the scene name when a transition begins fading out.</summary>
    public event Action<string> TransitionStarted;

    /// <summary>Raised with the scene name once the new scene has faded in.</summary>
    public event Action<string> TransitionFinished;

    /// <summary>Whether a transition is under way.</summary>
    public bool IsTransitioning => isTransitioning;

    /// <summary>Fades out, loads the named scene, and fades in; ignored mid-transition.</summary>
    public void LoadScene(string sceneName)
    {
        if (isTransitioning)
        {
            return;
        }

        StartCoroutine(Transition(sceneName));
    }

    private void Awake()
    {
        // Scenes that also contain a fader would otherwise stack a second one on top.
        if (Instance != null && Instance != this)
        {
            Destroy(transform.root.gameObject);
            return;
        }

        Instance = this;
        canvasGroup = GetComponent<CanvasGroup>();
        DontDestroyOnLoad(transform.root.gameObject);
    }

    private void Start()
    {
        if (Instance != this)
        {
            return;
        }

        canvasGroup.alpha = fadeInOnStart ? 1f : 0f;
        canvasGroup.blocksRaycasts = false;
        if (fadeInOnStart)
        {
            StartCoroutine(Fade(0f));
        }
    }

    private void OnDestroy()
    {
        if (Instance == this)
        {
            Instance = null;
        }
    }

    private IEnumerator Transition(string sceneName)
    {
        isTransitioning = true;
        TransitionStarted?.Invoke(sceneName);
        // Block clicks so nothing in the old scene reacts while it fades out.
        canvasGroup.blocksRaycasts = true;
        yield return Fade(1f);
        AsyncOperation loading = SceneManager.LoadSceneAsync(sceneName);
        if (loading == null)
        {
            Debug.LogError($"Scene '{sceneName}' is not in the build settings.", this);
        }
        else
        {
            while (!loading.isDone)
            {
                yield return null;
            }
        }

        yield return Fade(0f);
        canvasGroup.blocksRaycasts = false;
        isTransitioning = false;
        TransitionFinished?.Invoke(sceneName);
    }

    private IEnumerator Fade(float targetAlpha)
    {
        float startAlpha = canvasGroup.alpha;
        float elapsed = 0f;
        while (elapsed < fadeDuration)
        {
            // Unscaled time lets a fade run while the game is paused.
            elapsed += Time.unscaledDeltaTime;
            canvasGroup.alpha = Mathf.Lerp(startAlpha, targetAlpha, elapsed / fadeDuration);
            yield return null;
        }

        canvasGroup.alpha = targetAlpha;
    }
}
