"""Behaviours of what the player sees and hears: cameras, parallax, lights and sound."""

from __future__ import annotations

from spark.llm.behaviours.parts import (
    Context,
    Contribution,
    FieldSpec,
    MessagePart,
    MethodSpec,
    block,
    float_field,
    state,
)


def camera_follow(ctx: Context) -> Contribution:
    """A follow camera: eases towards a target plus an offset after everything has moved."""
    offset = "new Vector3(0f, 5f, -10f)" if ctx.three_d else "new Vector3(0f, 0f, -10f)"
    fields = (
        FieldSpec("Vector3", "offset", offset, "Position relative to the target."),
        float_field("smoothSpeed", "5f", "How quickly the camera catches up."),
    )
    if not ctx.behaviour:
        desired = MethodSpec(
            "GetDesiredPosition",
            "public Vector3 GetDesiredPosition(Vector3 targetPosition)",
            ("return targetPosition + offset;",),
        )
        return Contribution(fields=fields, methods=(desired,))
    target = FieldSpec("Transform", "target", tooltip="The object to follow.")
    late_update = block(
        "target != null",
        (
            "Vector3 desired = target.position + offset;",
            "float t = smoothSpeed * Time.deltaTime;",
            "transform.position = Vector3.Lerp(transform.position, desired, t);",
        ),
    )
    return Contribution(
        fields=(target, *fields), messages=(MessagePart("LateUpdate", late_update),)
    )


def camera_shake(ctx: Context) -> Contribution:
    """Camera shake: Shake() jolts the object at random for a moment, then it settles back."""
    fields = (
        float_field("shakeDuration", "0.3f", "Seconds a shake lasts."),
        float_field("shakeMagnitude", "0.2f", "How far a shake jolts, in units."),
        state("float", "shakeTimeLeft"),
        state("Vector3", "shakeOffset"),
    )
    # The offset is taken back before a new one is added, so shakes never drift the camera.
    late_update = (
        "transform.localPosition -= shakeOffset;",
        "shakeOffset = Vector3.zero;",
        *block(
            "shakeTimeLeft > 0f",
            (
                "shakeTimeLeft -= Time.deltaTime;",
                "shakeOffset = Random.insideUnitSphere * shakeMagnitude;",
                "transform.localPosition += shakeOffset;",
            ),
        ),
    )
    shake = MethodSpec("Shake", "public void Shake()", ("shakeTimeLeft = shakeDuration;",))
    return Contribution(
        fields=fields, messages=(MessagePart("LateUpdate", late_update),), methods=(shake,)
    )


def parallax(ctx: Context) -> Contribution:
    """Parallax: a background layer follows the camera by a fraction of its movement."""
    fields = (
        FieldSpec("Transform", "cameraTransform", tooltip="The camera; the main camera if empty."),
        FieldSpec(
            "Vector2", "parallaxFactor", "new Vector2(0.5f, 0.5f)", "0 stays put, 1 moves along."
        ),
        state("Vector3", "lastCameraPosition"),
    )
    start = (
        *block(
            "cameraTransform == null && Camera.main != null",
            ("cameraTransform = Camera.main.transform;",),
        ),
        *block("cameraTransform != null", ("lastCameraPosition = cameraTransform.position;",)),
    )
    late_update = block(
        "cameraTransform != null",
        (
            "Vector3 cameraDelta = cameraTransform.position - lastCameraPosition;",
            "transform.position += new Vector3(cameraDelta.x * parallaxFactor.x, "
            "cameraDelta.y * parallaxFactor.y, 0f);",
            "lastCameraPosition = cameraTransform.position;",
        ),
    )
    return Contribution(
        fields=fields,
        messages=(MessagePart("Start", start), MessagePart("LateUpdate", late_update)),
    )


def flicker(ctx: Context) -> Contribution:
    """A flickering light: a candle's, lantern's or torch's intensity wavers on smooth noise."""
    fields = (
        float_field("minIntensity", "0.6f", "Dimmest the light gets."),
        float_field("maxIntensity", "1.2f", "Brightest the light gets."),
        float_field("flickerSpeed", "8f", "How fast the flame wavers."),
        state("Light", "flickerLight"),
        state("float", "flickerSeed"),
    )
    awake = (
        "flickerLight = GetComponent<Light>();",
        # A seed per light keeps several candles from flickering in step.
        "flickerSeed = Random.value * 100f;",
    )
    update = (
        "float flickerNoise = Mathf.PerlinNoise(flickerSeed, Time.time * flickerSpeed);",
        "flickerLight.intensity = Mathf.Lerp(minIntensity, maxIntensity, flickerNoise);",
    )
    return Contribution(
        fields=fields,
        messages=(MessagePart("Awake", awake), MessagePart("Update", update)),
        required_components=("Light",),
    )


def day_night(ctx: Context) -> Contribution:
    """A day and night cycle: the sun turns across the sky and dims at night."""
    fields = (
        FieldSpec("Light", "sun", tooltip="The directional light; this object's Light if empty."),
        float_field("dayLength", "120f", "Seconds for a whole day and night."),
        float_field("maxSunIntensity", "1f", "The sun's intensity at noon."),
        FieldSpec("float", "timeOfDay", "0.25f", "0 midnight, 0.25 sunrise, 0.5 noon."),
    )
    start = block("sun == null", ("sun = GetComponent<Light>();",))
    update = block(
        "sun != null",
        (
            "timeOfDay = (timeOfDay + Time.deltaTime / Mathf.Max(dayLength, 0.01f)) % 1f;",
            "sun.transform.rotation = Quaternion.Euler(timeOfDay * 360f - 90f, 170f, 0f);",
            "float daylight = Mathf.Clamp01(Mathf.Sin((timeOfDay - 0.25f) * 2f * Mathf.PI) "
            "+ 0.2f);",
            "sun.intensity = maxSunIntensity * daylight;",
        ),
    )
    return Contribution(
        fields=fields, messages=(MessagePart("Start", start), MessagePart("Update", update))
    )


def audio(ctx: Context) -> Contribution:
    """Sound on an event: PlaySound() plays a clip where the object is."""
    fields = (
        FieldSpec("AudioClip", "sound", tooltip="The clip to play."),
        FieldSpec("float", "volume", "1f", "Playback volume, 0 to 1."),
        FieldSpec("bool", "playOnStart", "false", "Also play the clip when the scene starts."),
    )
    # PlayClipAtPoint outlives the object, so a pickup that destroys itself is still heard.
    play = MethodSpec(
        "PlaySound",
        "public void PlaySound()",
        block(
            "sound != null", ("AudioSource.PlayClipAtPoint(sound, transform.position, volume);",)
        ),
    )
    start = block("playOnStart", ("PlaySound();",))
    return Contribution(fields=fields, messages=(MessagePart("Start", start),), methods=(play,))
