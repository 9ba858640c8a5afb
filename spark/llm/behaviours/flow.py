"""Behaviours of the game's flow: countdowns, pausing, menus and saving."""

from __future__ import annotations

from spark.llm.behaviours.parts import (
    SCENES,
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
)

_RELOAD = "SceneManager.LoadScene(SceneManager.GetActiveScene().buildIndex);"


def timer(ctx: Context) -> Contribution:
    """A countdown: shown as m:ss on a UI Text; at zero it raises TimerEnded and ends the level."""
    fields = (
        float_field("timeLimit", "60f", "Seconds on the clock at the start."),
        FieldSpec("Text", "timerText", tooltip="The UI Text that shows the time left."),
        FieldSpec("string", "timeUpScene", '""', "Scene loaded at zero; empty restarts the level."),
        state("float", "timeRemaining"),
        state("bool", "timerRunning"),
    )
    start = ("timeRemaining = timeLimit;", "timerRunning = true;", "UpdateTimerText();")
    update = block(
        "timerRunning",
        (
            "timeRemaining = Mathf.Max(timeRemaining - Time.deltaTime, 0f);",
            "UpdateTimerText();",
            *block("timeRemaining <= 0f", ("timerRunning = false;", "EndLevel();")),
        ),
    )
    redraw = MethodSpec(
        "UpdateTimerText",
        "private void UpdateTimerText()",
        (
            "int secondsLeft = Mathf.CeilToInt(timeRemaining);",
            *block(
                "timerText != null",
                (
                    'timerText.text = string.Format("{0}:{1:00}", secondsLeft / 60, '
                    "secondsLeft % 60);",
                ),
            ),
        ),
    )
    end = MethodSpec(
        "EndLevel",
        "public void EndLevel()",
        (
            "TimerEnded?.Invoke();",
            *sound(ctx),
            *block("string.IsNullOrEmpty(timeUpScene)", (_RELOAD, "return;")),
            "",
            "SceneManager.LoadScene(timeUpScene);",
        ),
    )
    return Contribution(
        fields=fields,
        events=("public event System.Action TimerEnded;",),
        messages=(MessagePart("Start", start), MessagePart("Update", update)),
        methods=(end, redraw),
        usings=(UI, SCENES),
    )


def pause(ctx: Context) -> Contribution:
    """A pause menu: Escape stops time and shows the panel; Resume and Quit to menu buttons."""
    fields = (
        FieldSpec("GameObject", "pausePanel", tooltip="The menu shown while paused."),
        FieldSpec("string", "menuScene", '"MainMenu"', "Scene Quit to menu loads."),
        state("bool", "paused"),
    )
    update = block("Input.GetKeyDown(KeyCode.Escape)", ("SetPaused(!paused);",))
    set_paused = MethodSpec(
        "SetPaused",
        "public void SetPaused(bool value)",
        (
            "paused = value;",
            # timeScale 0 stops physics and every Time.deltaTime-driven motion at once.
            "Time.timeScale = paused ? 0f : 1f;",
            *block("pausePanel != null", ("pausePanel.SetActive(paused);",)),
        ),
    )
    resume = MethodSpec("Resume", "public void Resume()", ("SetPaused(false);",))
    quit_to_menu = MethodSpec(
        "QuitToMenu",
        "public void QuitToMenu()",
        ("Time.timeScale = 1f;", "SceneManager.LoadScene(menuScene);"),
    )
    return Contribution(
        fields=fields,
        messages=(
            MessagePart("Start", ("SetPaused(false);",)),
            MessagePart("Update", update),
        ),
        methods=(set_paused, resume, quit_to_menu),
        usings=(SCENES,),
    )


def menu(ctx: Context) -> Contribution:
    """A menu's buttons: start the game, restart the level, quit."""
    scene = FieldSpec("string", "gameScene", '"Game"', "Scene the Play button loads.")
    methods = (
        MethodSpec(
            "StartGame",
            "public void StartGame()",
            ("Time.timeScale = 1f;", "SceneManager.LoadScene(gameScene);"),
        ),
        MethodSpec("RestartLevel", "public void RestartLevel()", ("Time.timeScale = 1f;", _RELOAD)),
        MethodSpec("QuitGame", "public void QuitGame()", ("Application.Quit();",)),
    )
    return Contribution(fields=(scene,), methods=methods, usings=(SCENES,))


def save(ctx: Context) -> Contribution:
    """Save and load in PlayerPrefs: the position (F5 saves, F9 loads) and the score when
    kept; beside a checkpoint, the checkpoint reached, restored when the scene starts."""
    key = FieldSpec("string", "saveKey", '"save"', "Prefix of the PlayerPrefs entries.")
    scored, checkpoint = ctx.has("score"), ctx.has("checkpoint")
    where = "LastCheckpoint" if checkpoint else "transform.position"
    write = (
        *(f'PlayerPrefs.SetFloat(saveKey + ".{axis}", {where}.{axis});' for axis in "xyz"),
        *(('PlayerPrefs.SetInt(saveKey + ".score", score);',) if scored else ()),
        "PlayerPrefs.Save();",
    )
    restored = "HasCheckpoint = true;" if checkpoint else None
    read = (
        *block('!PlayerPrefs.HasKey(saveKey + ".x")', ("return false;",)),
        "",
        f"{where} = new Vector3(",
        '    PlayerPrefs.GetFloat(saveKey + ".x"),',
        '    PlayerPrefs.GetFloat(saveKey + ".y"),',
        '    PlayerPrefs.GetFloat(saveKey + ".z"));',
        *((restored,) if restored else ()),
        *(
            ('score = PlayerPrefs.GetInt(saveKey + ".score");', "UpdateScoreText();")
            if scored
            else ()
        ),
        "return true;",
    )
    methods = (
        MethodSpec("SaveGame", "public void SaveGame()", write),
        MethodSpec("LoadGame", "public bool LoadGame()", read),
        MethodSpec(
            "DeleteSave",
            "public void DeleteSave()",
            tuple(f'PlayerPrefs.DeleteKey(saveKey + ".{k}");' for k in ("x", "y", "z", "score")),
        ),
    )
    if checkpoint:
        # The checkpoint saves as it is reached; a new session starts from the one saved.
        message = MessagePart("Start", ("LoadGame();",))
    else:
        keys = (
            *block("Input.GetKeyDown(KeyCode.F5)", ("SaveGame();",)),
            *block("Input.GetKeyDown(KeyCode.F9)", ("LoadGame();",)),
        )
        message = MessagePart("Update", keys)
    return Contribution(fields=(key,), messages=(message,), methods=methods)
