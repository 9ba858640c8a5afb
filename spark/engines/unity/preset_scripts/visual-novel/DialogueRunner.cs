using System;
using System.Collections;
using System.Collections.Generic;
using UnityEngine;
using UnityEngine.UI;

/// <summary>
/// Plays DialogueLine assets in a UI box: shows the speaker and portrait, types the text out
/// letter by letter, and offers choices through events and optional buttons.
/// </summary>
/// <remarks>
/// Submit (Enter, Space) or a click finishes the typing, then moves to the next line. Lines
/// with choices wait for Choose, which the choice buttons call with their index.
/// </remarks>
[DisallowMultipleComponent]
public class DialogueRunner : MonoBehaviour
{
    [Header("UI")]
    [SerializeField, Tooltip("Root of the dialogue box, shown only while dialogue runs.")]
    private GameObject dialoguePanel;

    [SerializeField, Tooltip("Text showing who is speaking; optional.")]
    private Text speakerText;

    [SerializeField, Tooltip("Text the line is typed into.")]
    private Text bodyText;

    [SerializeField, Tooltip("Image showing the speaker's portrait; optional.")]
    private Image portraitImage;

    [SerializeField, Tooltip("Buttons for choices, used in order; unused ones are hidden.")]
    private Button[] choiceButtons = Array.Empty<Button>();

    [Header("Playback")]
    [SerializeField, Tooltip("Line played on Start; leave empty to start dialogue from code.")]
    private DialogueLine startLine;

    [SerializeField, Min(1f), Tooltip("Characters revealed per second.")]
    private float charactersPerSecond = 40f;

    [SerializeField, Tooltip("Whether Submit or a left click advances the dialogue.")]
    private bool advanceOnInput = true;

    private Text[] choiceLabels = Array.Empty<Text>();
    private DialogueLine currentLine;
    private Coroutine typing;
    private bool isTyping;
    private int lineStartFrame = -1;

    /// <summary>Raised when a line starts typing.</summary>
    public event Action<DialogueLine> LineStarted;

    /// <summary>Raised when a line is fully shown, typed out or skipped.</summary>
    public event Action<DialogueLine> LineCompleted;

    /// <summary>Raised with the choices of a line once it is fully shown.</summary>
    public event Action<IReadOnlyList<DialogueChoice>> ChoicesPresented;

    /// <summary>Raised with the choice the player picked.</summary>
    public event Action<DialogueChoice> ChoiceMade;

    /// <summary>Raised when the dialogue runs out of lines or is ended.</summary>
    public event Action DialogueEnded;

    /// <summary>Whether a dialogue is playing.</summary>
    public bool IsRunning => currentLine != null;

    /// <summary>Whether the current line is still being typed out.</summary>
    public bool IsTyping => isTyping;

    /// <summary>The line on screen, or null when no dialogue runs.</summary>
    public DialogueLine CurrentLine => currentLine;

    /// <summary>Starts a dialogue at the given line, replacing any dialogue running.</summary>
    public void StartDialogue(DialogueLine line)
    {
        if (dialoguePanel != null)
        {
            dialoguePanel.SetActive(true);
        }

        ShowLine(line);
    }

    /// <summary>Finishes the typing, or moves to the next line when there are no choices.</summary>
    public void Advance()
    {
        if (currentLine == null)
        {
            return;
        }

        if (isTyping)
        {
            FinishTyping();
            return;
        }

        // With choices on screen only picking one moves the story on.
        if (!currentLine.HasChoices)
        {
            ShowLine(currentLine.Next);
        }
    }

    /// <summary>Picks the choice at index on the current line and follows it.</summary>
    public void Choose(int index)
    {
        if (currentLine == null || isTyping || index < 0 || index >= currentLine.Choices.Count)
        {
            return;
        }

        DialogueChoice choice = currentLine.Choices[index];
        ChoiceMade?.Invoke(choice);
        ShowLine(choice.Next);
    }

    /// <summary>Stops the dialogue and hides the dialogue box.</summary>
    public void EndDialogue()
    {
        StopTyping();
        HideChoices();
        currentLine = null;
        if (dialoguePanel != null)
        {
            dialoguePanel.SetActive(false);
        }

        DialogueEnded?.Invoke();
    }

    private void Awake()
    {
        if (bodyText == null)
        {
            Debug.LogError("DialogueRunner needs a Body Text to type lines into.", this);
            enabled = false;
            return;
        }

        choiceLabels = new Text[choiceButtons.Length];
        for (int i = 0; i < choiceButtons.Length; i++)
        {
            // Each listener needs its own copy; the loop variable would end up past the end.
            int index = i;
            choiceButtons[i].onClick.AddListener(() => Choose(index));
            choiceLabels[i] = choiceButtons[i].GetComponentInChildren<Text>(true);
        }

        HideChoices();
        if (dialoguePanel != null)
        {
            dialoguePanel.SetActive(false);
        }
    }

    private void Start()
    {
        if (startLine != null)
        {
            StartDialogue(startLine);
        }
    }

    private void Update()
    {
        // The press that picked a choice or started a line must not also skip its typing.
        if (!advanceOnInput || currentLine == null || Time.frameCount == lineStartFrame)
        {
            return;
        }

        if (Input.GetButtonDown("Submit") || Input.GetMouseButtonDown(0))
        {
            Advance();
        }
    }

    private void ShowLine(DialogueLine line)
    {
        if (line == null)
        {
            EndDialogue();
            return;
        }

        StopTyping();
        HideChoices();
        currentLine = line;
        lineStartFrame = Time.frameCount;
        if (speakerText != null)
        {
            speakerText.text = line.Speaker;
        }

        if (portraitImage != null)
        {
            portraitImage.sprite = line.Portrait;
            portraitImage.enabled = line.Portrait != null;
        }

        typing = StartCoroutine(TypeLine(line.Text));
        LineStarted?.Invoke(line);
    }

    private IEnumerator TypeLine(string text)
    {
        isTyping = true;
        bodyText.text = string.Empty;
        float elapsed = 0f;
        int shown = 0;
        while (shown < text.Length)
        {
            // Unscaled time keeps dialogue readable while the game is paused.
            elapsed += Time.unscaledDeltaTime;
            int reached = Mathf.Min(text.Length, Mathf.FloorToInt(elapsed * charactersPerSecond));
            if (reached != shown)
            {
                // UI.Text has no visible-character limit, so each step assigns a prefix;
                // TextMeshPro's maxVisibleCharacters avoids these strings if you switch.
                shown = reached;
                bodyText.text = text.Substring(0, shown);
            }

            yield return null;
        }

        typing = null;
        CompleteLine();
    }

    private void FinishTyping()
    {
        StopTyping();
        CompleteLine();
    }

    private void CompleteLine()
    {
        isTyping = false;
        bodyText.text = currentLine.Text;
        if (currentLine.HasChoices)
        {
            ShowChoices(currentLine.Choices);
        }

        LineCompleted?.Invoke(currentLine);
    }

    private void StopTyping()
    {
        if (typing != null)
        {
            StopCoroutine(typing);
            typing = null;
        }

        isTyping = false;
    }

    private void ShowChoices(IReadOnlyList<DialogueChoice> choices)
    {
        for (int i = 0; i < choiceButtons.Length; i++)
        {
            bool used = i < choices.Count;
            choiceButtons[i].gameObject.SetActive(used);
            if (used && choiceLabels[i] != null)
            {
                choiceLabels[i].text = choices[i].Text;
            }
        }

        if (choices.Count > choiceButtons.Length && choiceButtons.Length > 0)
        {
            Debug.LogWarning($"{currentLine.name} has more choices than choice buttons.", this);
        }

        ChoicesPresented?.Invoke(choices);
    }

    private void HideChoices()
    {
        for (int i = 0; i < choiceButtons.Length; i++)
        {
            choiceButtons[i].gameObject.SetActive(false);
        }
    }
}
