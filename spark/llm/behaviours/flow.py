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
    """Save and load: position (and score, when kept) in PlayerPrefs; F5 saves, F9 loads."""
    key = FieldSpec("string", "saveKey", '"save"', "Prefix of the PlayerPrefs entries.")
    scored = ctx.has("score")
    write = (
        'PlayerPrefs.SetFloat(saveKey + ".x", transform.position.x);',
        'PlayerPrefs.SetFloat(saveKey + ".y", transform.position.y);',
        'PlayerPrefs.SetFloat(saveKey + ".z", transform.position.z);',
        *(('PlayerPrefs.SetInt(saveKey + ".score", score);',) if scored else ()),
        "PlayerPrefs.Save();",
    )
    read = (
        *block('!PlayerPrefs.HasKey(saveKey + ".x")', ("return false;",)),
        "",
        "transform.position = new Vector3(",
        '    PlayerPrefs.GetFloat(saveKey + ".x"),',
        '    PlayerPrefs.GetFloat(saveKey + ".y"),',
        '    PlayerPrefs.GetFloat(saveKey + ".z"));',
        *(
            ('score = PlayerPrefs.GetInt(saveKey + ".score");', "UpdateScoreText();")
            if scored
            else ()
        ),
        "return true;",
    )
    update = (
        *block("Input.GetKeyDown(KeyCode.F5)", ("SaveGame();",)),
        *block("Input.GetKeyDown(KeyCode.F9)", ("LoadGame();",)),
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
    return Contribution(fields=(key,), messages=(MessagePart("Update", update),), methods=methods)
