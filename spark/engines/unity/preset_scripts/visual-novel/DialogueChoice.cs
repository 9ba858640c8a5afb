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
