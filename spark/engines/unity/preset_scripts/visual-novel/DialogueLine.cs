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
