"""Behaviours of a level's objects: triggers, doors, keys, checkpoints, pickups, score,
inventory, dialogue and the level's exit."""

from __future__ import annotations

from spark.llm.behaviours.parts import (
    EVENTS,
    GENERIC,
    SCENES,
    SOUNDING,
    UI,
    Context,
    Contribution,
    FieldSpec,
    MessagePart,
    MethodSpec,
    block,
    float_field,
    sound,
    state,
    trigger_message,
)

_PLAYER = 'other.CompareTag("Player")'


def trigger(ctx: Context) -> Contribution:
    """A trigger zone: the player entering or leaving it sets off the class's reactions and
    UnityEvents wired in the Inspector."""
    fields = (
        FieldSpec("UnityEvent", "onPlayerEnter", "new UnityEvent()", "Run when the player enters."),
        FieldSpec("UnityEvent", "onPlayerExit", "new UnityEvent()", "Run when the player leaves."),
    )
    enter = list(ctx.enter_actions)
    if ctx.has("audio") and not SOUNDING & ctx.families:
        enter.append("PlaySound();")
    enter.append("onPlayerEnter.Invoke();")
    leave = (*ctx.exit_actions, "onPlayerExit.Invoke();")
    return Contribution(
        fields=fields,
        messages=(
            MessagePart(trigger_message(ctx), block(_PLAYER, enter)),
            MessagePart(trigger_message(ctx, leaving=True), block(_PLAYER, leave)),
        ),
        usings=(EVENTS,),
    )


def door(ctx: Context) -> Contribution:
    """A door: swings open (3D) or slides open (2D) and closes again."""
    fields: tuple[FieldSpec, ...]
    if ctx.three_d:
        fields = (
            float_field("openAngle", "90f", "Degrees the door swings open."),
            float_field("doorSpeed", "180f", "Swing speed in degrees per second."),
            state("Quaternion", "closedRotation"),
        )
        start = ("closedRotation = transform.localRotation;",)
        update = (
            "Quaternion doorGoal = isOpen ? closedRotation * Quaternion.Euler(0f, openAngle, 0f) "
            ": closedRotation;",
            "float doorStep = doorSpeed * Time.deltaTime;",
            "transform.localRotation = Quaternion.RotateTowards(transform.localRotation, "
            "doorGoal, doorStep);",
        )
    else:
        fields = (
            FieldSpec("Vector3", "openOffset", "new Vector3(0f, 3f, 0f)", "How far it slides."),
            float_field("doorSpeed", "4f", "Slide speed in units per second."),
            state("Vector3", "closedPosition"),
        )
        start = ("closedPosition = transform.localPosition;",)
        update = (
            "Vector3 doorGoal = isOpen ? closedPosition + openOffset : closedPosition;",
            "float doorStep = doorSpeed * Time.deltaTime;",
            "transform.localPosition = Vector3.MoveTowards(transform.localPosition, doorGoal, "
            "doorStep);",
        )
    locked = block("!unlocked", ("return;",)) if ctx.has("keys") else ()
    methods = (
        MethodSpec(
            "Open",
            "public void Open()",
            (*locked, *block("!isOpen", ("isOpen = true;", *sound(ctx)))),
        ),
        MethodSpec("Close", "public void Close()", ("isOpen = false;",)),
    )
    return Contribution(
        fields=(*fields, state("bool", "isOpen")),
        messages=(MessagePart("Start", start), MessagePart("Update", update)),
        methods=methods,
    )


def keys(ctx: Context) -> Contribution:
    """Keys and locks: a key object adds its id to the keys held; a locked object unlocks
    when the player arrives holding its key."""
    fields = (
        FieldSpec("string", "keyId", '"gold"', "Which key this is, or which key opens this lock."),
        FieldSpec("bool", "isKey", "false", "On for the key to pick up, off for the lock."),
        # Shared by every key and lock of this class, so a key taken opens its lock anywhere.
        state("static readonly HashSet<string>", "HeldKeys", "new HashSet<string>()"),
        state("bool", "unlocked"),
    )
    unlock = MethodSpec(
        "Unlock",
        "public void Unlock()",
        ("unlocked = true;", "Unlocked?.Invoke();", *sound(ctx)),
    )
    return Contribution(
        fields=fields,
        events=("public event System.Action Unlocked;",),
        methods=(unlock,),
        usings=(GENERIC,),
    )


KEYS_ON_ENTER = (
    *block("isKey", ("HeldKeys.Add(keyId);", "Destroy(gameObject);")),
    *block("!isKey && !unlocked && HeldKeys.Contains(keyId)", ("Unlock();",)),
)


def checkpoint(ctx: Context) -> Contribution:
    """A checkpoint: the last one the player touched is where they respawn."""
    saves = ("SaveGame();",) if ctx.has("save") else ()
    reach = MethodSpec(
        "ReachCheckpoint",
        "public void ReachCheckpoint()",
        (
            "LastCheckpoint = transform.position;",
            "HasCheckpoint = true;",
            "CheckpointReached?.Invoke(LastCheckpoint);",
            *saves,
            *sound(ctx),
        ),
    )
    respawn = MethodSpec(
        "RespawnAtCheckpoint",
        "public static void RespawnAtCheckpoint(Transform player)",
        block("HasCheckpoint && player != null", ("player.position = LastCheckpoint;",)),
    )
    return Contribution(
        fields=(
            state("static Vector3", "LastCheckpoint"),
            state("static bool", "HasCheckpoint"),
        ),
        events=("public static event System.Action<Vector3> CheckpointReached;",),
        methods=(reach, respawn),
    )


def collect(ctx: Context) -> Contribution:
    """Collectibles: the player touching the item scores its value and removes it."""
    value = FieldSpec("int", "scoreValue", "1", "Points awarded when collected.")
    if not ctx.behaviour:
        add = MethodSpec("AddTo", "public int AddTo(int score)", ("return score + scoreValue;",))
        return Contribution(fields=(value,), methods=(add,))
    taken = ("Collected?.Invoke(scoreValue);", *sound(ctx), "Destroy(gameObject);")
    return Contribution(
        fields=(value,),
        events=("public static event System.Action<int> Collected;",),
        messages=(MessagePart(trigger_message(ctx), block(_PLAYER, taken)),),
    )


def heal_pickup(ctx: Context) -> Contribution:
    """A health pickup: heals the player who touches it, then disappears."""
    amount = FieldSpec("int", "healAmount", "25", "Health restored to the player.")
    return Contribution(fields=(amount,))


HEAL_ON_ENTER = (
    'other.SendMessage("Heal", healAmount, SendMessageOptions.DontRequireReceiver);',
    "Destroy(gameObject);",
)


def score(ctx: Context) -> Contribution:
    """A score counter: points added, shown on a UI Text."""
    fields = (
        FieldSpec("Text", "scoreText", tooltip="The UI Text that shows the score."),
        FieldSpec("string", "scoreFormat", '"Score: {0}"', "How the score is written."),
        state("int", "score"),
    )
    add = MethodSpec(
        "AddScore",
        "public void AddScore(int points)",
        ("score += points;", "UpdateScoreText();"),
    )
    redraw = MethodSpec(
        "UpdateScoreText",
        "private void UpdateScoreText()",
        block("scoreText != null", ("scoreText.text = string.Format(scoreFormat, score);",)),
    )
    current = MethodSpec("GetScore", "public int GetScore()", ("return score;",))
    return Contribution(
        fields=fields,
        messages=(MessagePart("Start", ("UpdateScoreText();",)),),
        methods=(add, current, redraw),
        usings=(UI,),
    )


def inventory(ctx: Context) -> Contribution:
    """An inventory: named items added up to a capacity, removed and looked up."""
    fields = (
        FieldSpec("int", "capacity", "20", "Most items carried at once."),
        state("List<string>", "items", "new List<string>()"),
    )
    add = MethodSpec(
        "AddItem",
        "public bool AddItem(string item)",
        (
            *block("string.IsNullOrEmpty(item) || items.Count >= capacity", ("return false;",)),
            "",
            "items.Add(item);",
            "InventoryChanged?.Invoke();",
            "return true;",
        ),
    )
    remove = MethodSpec(
        "RemoveItem",
        "public bool RemoveItem(string item)",
        (
            *block("!items.Remove(item)", ("return false;",)),
            "",
            "InventoryChanged?.Invoke();",
            "return true;",
        ),
    )
    has = MethodSpec(
        "HasItem", "public bool HasItem(string item)", ("return items.Contains(item);",)
    )
    listing = MethodSpec("GetItems", "public IReadOnlyList<string> GetItems()", ("return items;",))
    return Contribution(
        fields=fields,
        events=("public event System.Action InventoryChanged;",),
        methods=(add, remove, has, listing),
        usings=(GENERIC,),
    )


def dialogue(ctx: Context) -> Contribution:
    """Dialogue: lines shown on a UI panel one at a time, advanced with Submit or E."""
    fields = (
        FieldSpec("string[]", "dialogueLines", '{ "Hello, traveller." }', "Lines, in order."),
        FieldSpec("GameObject", "dialoguePanel", tooltip="The panel shown while talking."),
        FieldSpec("Text", "dialogueText", tooltip="The UI Text a line is written to."),
        state("int", "lineIndex"),
        state("bool", "talking"),
    )
    advance = block(
        'talking && (Input.GetButtonDown("Submit") || Input.GetKeyDown(KeyCode.E))',
        ("NextLine();",),
    )
    show = MethodSpec(
        "ShowLine",
        "private void ShowLine()",
        block("dialogueText != null", ("dialogueText.text = dialogueLines[lineIndex];",)),
    )
    begin = MethodSpec(
        "StartDialogue",
        "public void StartDialogue()",
        (
            *block("dialogueLines.Length == 0", ("return;",)),
            "",
            "talking = true;",
            "lineIndex = 0;",
            *block("dialoguePanel != null", ("dialoguePanel.SetActive(true);",)),
            "ShowLine();",
        ),
    )
    follow = MethodSpec(
        "NextLine",
        "public void NextLine()",
        (
            "lineIndex++;",
            *block("lineIndex >= dialogueLines.Length", ("EndDialogue();", "return;")),
            "",
            "ShowLine();",
        ),
    )
    end = MethodSpec(
        "EndDialogue",
        "public void EndDialogue()",
        ("talking = false;", *block("dialoguePanel != null", ("dialoguePanel.SetActive(false);",))),
    )
    return Contribution(
        fields=fields,
        messages=(MessagePart("Update", advance),),
        methods=(begin, follow, end, show),
        usings=(UI,),
    )


def level_exit(ctx: Context) -> Contribution:
    """A level's exit: the player reaching it loads the next level."""
    scene = FieldSpec("string", "nextScene", '""', "Scene to load; empty for the next one built.")
    load = MethodSpec(
        "LoadNextLevel",
        "public void LoadNextLevel()",
        (
            *block(
                "string.IsNullOrEmpty(nextScene)",
                (
                    "SceneManager.LoadScene(SceneManager.GetActiveScene().buildIndex + 1);",
                    "return;",
                ),
            ),
            "",
            "SceneManager.LoadScene(nextScene);",
        ),
    )
    return Contribution(fields=(scene,), methods=(load,), usings=(SCENES,))
