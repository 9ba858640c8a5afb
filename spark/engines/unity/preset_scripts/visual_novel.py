"""The visual novel preset's scripts: dialogue data, a dialogue runner and scene fades."""

from __future__ import annotations

from spark.engines.unity.preset_scripts.dialogue_runner import DIALOGUE_RUNNER

FOLDER = "Assets/Scripts/VisualNovel"

DIALOGUE_LINE = """\
using System;
using System.Collections.Generic;
using UnityEngine;

/// <summary>
/// One line of dialogue as an asset: who speaks, what they say, and what follows, either
/// the next line or a set of choices. Lines link into a graph that a DialogueRunner plays.
/// </summary>
[CreateAssetMenu(fileName = "DialogueLine", menuName = "Visual Novel/Dialogue Line")]
public class DialogueLine : ScriptableObject
{
    [SerializeField, Tooltip("Name shown above the text; leave empty for narration.")]
    private string speaker = string.Empty;

    [SerializeField, TextArea(3, 8), Tooltip("What the speaker says.")]
    private string text = string.Empty;

    [SerializeField, Tooltip("Portrait shown beside the text; optional.")]
    private Sprite portrait;

    [SerializeField, Tooltip("The line after this one when there are no choices; empty ends.")]
    private DialogueLine next;

    [SerializeField, Tooltip("Answers offered to the player; when present they replace Next.")]
    private DialogueChoice[] choices = Array.Empty<DialogueChoice>();

    /// <summary>Name shown above the text, empty for narration.</summary>
    public string Speaker => speaker;

    /// <summary>What the speaker says.</summary>
    public string Text => text;

    /// <summary>Portrait shown beside the text, or null.</summary>
    public Sprite Portrait => portrait;

    /// <summary>The line after this one when there are no choices, or null at the end.</summary>
    public DialogueLine Next => next;

    /// <summary>Answers offered to the player, empty when the line just continues.</summary>
    public IReadOnlyList<DialogueChoice> Choices => choices;

    /// <summary>Whether the player must pick a choice to go on.</summary>
    public bool HasChoices => choices != null && choices.Length > 0;
}
"""

DIALOGUE_CHOICE = """\
using System;
using UnityEngine;

/// <summary>One answer the player can pick at the end of a DialogueLine.</summary>
[Serializable]
public class DialogueChoice
{
    [SerializeField, Tooltip("The text shown on the choice button.")]
    private string text = string.Empty;

    [SerializeField, Tooltip("The line that follows this choice; empty ends the dialogue.")]
    private DialogueLine next;

    /// <summary>The text shown on the choice button.</summary>
    public string Text => text;

    /// <summary>The line that follows this choice, or null to end the dialogue.</summary>
    public DialogueLine Next => next;
}
"""

SCENE_TRANSITION = """\
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
"""

FILES: tuple[tuple[str, str], ...] = (
    (f"{FOLDER}/DialogueLine.cs", DIALOGUE_LINE),
    (f"{FOLDER}/DialogueChoice.cs", DIALOGUE_CHOICE),
    (f"{FOLDER}/DialogueRunner.cs", DIALOGUE_RUNNER),
    (f"{FOLDER}/SceneTransition.cs", SCENE_TRANSITION),
)
