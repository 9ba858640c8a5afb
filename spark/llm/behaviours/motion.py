"""Behaviours that move the object: a player controller, jumping, spinning, bobbing, patrols,
chases and moving platforms."""

from __future__ import annotations

from spark.llm.behaviours.parts import (
    Context,
    Contribution,
    FieldSpec,
    MessagePart,
    MethodSpec,
    block,
    collision_message,
    float_field,
    sound,
    state,
)


def movement(ctx: Context) -> Contribution:
    """Input-driven movement: WASD or arrow keys walk, Left Shift runs."""
    speed = float_field("moveSpeed", "5f", "Walking speed in units per second.")
    run = float_field("runMultiplier", "1.8f", "Speed multiplier while Left Shift is held.")
    if not ctx.behaviour:
        velocity = MethodSpec(
            "GetVelocity",
            "public Vector3 GetVelocity(float horizontal, float vertical)",
            ("return new Vector3(horizontal, vertical, 0f) * moveSpeed;",),
        )
        return Contribution(fields=(speed, run), methods=(velocity,))
    if ctx.three_d:
        direction = "new Vector3(horizontal, 0f, vertical)"
    elif ctx.has("jump"):
        direction = "new Vector3(horizontal, 0f, 0f)"  # gravity and jumping own the y axis
    else:
        direction = "new Vector3(horizontal, vertical, 0f)"
    reads = ['float horizontal = Input.GetAxis("Horizontal");']
    if "vertical" in direction:
        reads.append('float vertical = Input.GetAxis("Vertical");')
    update = (
        *reads,
        "float currentSpeed = Input.GetKey(KeyCode.LeftShift) ? moveSpeed * runMultiplier "
        ": moveSpeed;",
        f"Vector3 direction = Vector3.ClampMagnitude({direction}, 1f);",
        "transform.Translate(direction * currentSpeed * Time.deltaTime, Space.World);",
    )
    return Contribution(fields=(speed, run), messages=(MessagePart("Update", update),))


def jump(ctx: Context) -> Contribution:
    """Jumping: an impulse on the Jump button while the body stands on ground."""
    force = float_field("jumpForce", "7f", "Upward impulse applied when jumping.")
    vector = "Vector3" if ctx.three_d else "Vector2"
    up = f"{vector}.up"
    if not ctx.behaviour:
        impulse = MethodSpec(
            "GetJumpImpulse", f"public {vector} GetJumpImpulse()", (f"return {up} * jumpForce;",)
        )
        return Contribution(fields=(force,), methods=(impulse,))
    body_type = "Rigidbody" if ctx.three_d else "Rigidbody2D"
    mode = "ForceMode.Impulse" if ctx.three_d else "ForceMode2D.Impulse"
    ground = FieldSpec("LayerMask", "groundLayer", "~0", "Layers that count as ground.")
    fields = [force, ground]
    if ctx.three_d:
        fields.append(float_field("groundCheckDistance", "1.1f", "Ray length from the pivot down."))
        grounded = (
            "return Physics.Raycast(transform.position, Vector3.down, groundCheckDistance, "
            "groundLayer, QueryTriggerInteraction.Ignore);",
        )
    else:
        grounded = ("return body.IsTouchingLayers(groundLayer);",)
    fields.append(state(body_type, "body"))
    update = block(
        'Input.GetButtonDown("Jump") && IsGrounded()',
        (f"body.AddForce({up} * jumpForce, {mode});", *sound(ctx)),
    )
    return Contribution(
        fields=tuple(fields),
        messages=(
            MessagePart("Awake", (f"body = GetComponent<{body_type}>();",)),
            MessagePart("Update", update),
        ),
        methods=(MethodSpec("IsGrounded", "private bool IsGrounded()", grounded),),
        required_components=(body_type,),
    )


def rotate(ctx: Context) -> Contribution:
    """Rotation: a steady spin around the axis that faces the camera in 2D, or up in 3D."""
    speed = float_field("rotationSpeed", "90f", "Rotation speed in degrees per second.")
    axes = "0f, {angle}, 0f" if ctx.three_d else "0f, 0f, {angle}"
    if not ctx.behaviour:
        step = MethodSpec(
            "GetRotationStep",
            "public Quaternion GetRotationStep(float deltaTime)",
            (f"return Quaternion.Euler({axes.format(angle='rotationSpeed * deltaTime')});",),
        )
        return Contribution(fields=(speed,), methods=(step,))
    update = (f"transform.Rotate({axes.format(angle='rotationSpeed * Time.deltaTime')});",)
    return Contribution(fields=(speed,), messages=(MessagePart("Update", update),))


def bob(ctx: Context) -> Contribution:
    """Bobbing: a gentle float up and down around the start position."""
    fields = (
        float_field("speed", "1f", "Bobbing cycles per second."),
        float_field("amplitude", "0.25f", "Bobbing height in units."),
    )
    wave = "Mathf.Sin({time} * speed * 2f * Mathf.PI) * amplitude"
    if not ctx.behaviour:
        evaluate = MethodSpec(
            "Evaluate",
            "public float Evaluate(float time)",
            (f"return {wave.format(time='time')};",),
        )
        return Contribution(fields=fields, methods=(evaluate,))
    update = (
        f"float bob = {wave.format(time='Time.time')};",
        "transform.position = startPosition + Vector3.up * bob;",
    )
    return Contribution(
        fields=(*fields, state("Vector3", "startPosition")),
        messages=(
            MessagePart("Start", ("startPosition = transform.position;",)),
            MessagePart("Update", update),
        ),
    )


def patrol(ctx: Context) -> Contribution:
    """Patrolling: walk from waypoint to waypoint in a loop, pausing at each."""
    fields = (
        FieldSpec("Transform[]", "waypoints", "new Transform[0]", "Points visited in order."),
        float_field("patrolSpeed", "2f", "Walking speed between waypoints, units per second."),
        float_field("waypointPause", "1f", "Seconds spent at each waypoint."),
        state("int", "waypointIndex"),
        state("float", "pauseUntil"),
    )
    # A chasing enemy leaves its round while it has the player in sight.
    condition = "waypoints.Length > 0 && Time.time >= pauseUntil"
    if ctx.has("chase"):
        condition += " && !IsChasing()"
    update = block(
        condition,
        (
            "Transform waypoint = waypoints[waypointIndex];",
            "float patrolStep = patrolSpeed * Time.deltaTime;",
            "transform.position = Vector3.MoveTowards(transform.position, waypoint.position, "
            "patrolStep);",
            "if (Vector3.Distance(transform.position, waypoint.position) < 0.05f)",
            "{",
            "    waypointIndex = (waypointIndex + 1) % waypoints.Length;",
            "    pauseUntil = Time.time + waypointPause;",
            "}",
        ),
    )
    return Contribution(fields=fields, messages=(MessagePart("Update", update),))


def chase(ctx: Context) -> Contribution:
    """Chasing: move towards the player while they are within range."""
    fields = (
        FieldSpec("string", "targetTag", '"Player"', "Tag of the object to chase."),
        float_field("chaseSpeed", "3.5f", "Chasing speed in units per second."),
        float_field("detectionRange", "8f", "How close the target must be to be chased."),
        state("Transform", "chaseTarget"),
    )
    start = (
        "GameObject chaseFound = GameObject.FindGameObjectWithTag(targetTag);",
        *block("chaseFound != null", ("chaseTarget = chaseFound.transform;",)),
    )
    update = block(
        "IsChasing()",
        (
            "float chaseStep = chaseSpeed * Time.deltaTime;",
            "transform.position = Vector3.MoveTowards(transform.position, chaseTarget.position, "
            "chaseStep);",
        ),
    )
    in_range = MethodSpec(
        "IsChasing",
        "public bool IsChasing()",
        (
            "return chaseTarget != null",
            "    && Vector3.Distance(transform.position, chaseTarget.position) <= detectionRange;",
        ),
    )
    return Contribution(
        fields=fields,
        messages=(MessagePart("Start", start), MessagePart("Update", update)),
        methods=(in_range,),
    )


def platform(ctx: Context) -> Contribution:
    """A moving platform: back and forth between its start and an offset, carrying the player."""
    travel = "new Vector3(0f, 3f, 0f)" if ctx.three_d else "new Vector3(3f, 0f, 0f)"
    fields = (
        FieldSpec("Vector3", "travel", travel, "From the start position to the far end."),
        float_field("platformSpeed", "2f", "Speed in units per second."),
        state("Vector3", "platformStart"),
    )
    update = (
        "float platformDistance = Mathf.Max(travel.magnitude, 0.01f);",
        "float platformT = Mathf.PingPong(Time.time * platformSpeed / platformDistance, 1f);",
        "transform.position = Vector3.Lerp(platformStart, platformStart + travel, platformT);",
    )
    # A rider parented to the platform moves with it instead of sliding off.
    board = block(
        'collision.gameObject.CompareTag("Player")', ("collision.transform.SetParent(transform);",)
    )
    leave = block(
        'collision.gameObject.CompareTag("Player")', ("collision.transform.SetParent(null);",)
    )
    return Contribution(
        fields=fields,
        messages=(
            MessagePart("Start", ("platformStart = transform.position;",)),
            MessagePart("Update", update),
            MessagePart(collision_message(ctx), board),
            MessagePart(collision_message(ctx, leaving=True), leave),
        ),
    )
