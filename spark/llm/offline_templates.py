"""Member templates the offline generator assembles into Unity scripts, one family per feature."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldSpec:
    """A field: serialized ones show in the Inspector, the others hold runtime state."""

    type_name: str
    name: str
    default: str | None = None
    tooltip: str = ""
    serialized: bool = True


@dataclass(frozen=True)
class MethodSpec:
    """A plain method: its full signature and body lines indented relative to the body."""

    name: str
    signature: str
    body: tuple[str, ...]


@dataclass(frozen=True)
class MessagePart:
    """Lines a family adds to a Unity message such as Update, merged with other families'."""

    message: str
    body: tuple[str, ...]


@dataclass(frozen=True)
class Contribution:
    """Everything one family adds to a class."""

    fields: tuple[FieldSpec, ...] = ()
    events: tuple[str, ...] = ()
    messages: tuple[MessagePart, ...] = ()
    methods: tuple[MethodSpec, ...] = ()
    required_component: str | None = None
    uses_coroutine: bool = False


@dataclass(frozen=True)
class Context:
    """What shapes the templates: the kind of class, 2D or 3D, and the other families present."""

    behaviour: bool
    three_d: bool
    families: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Family:
    """A feature picked by prompt words; weak stems count only when no target-like family does."""

    name: str
    stems: tuple[str, ...]
    build: Callable[[Context], Contribution]
    weak_stems: tuple[str, ...] = ()


#: Unity messages in the order they are written, with their signatures.
MESSAGE_SIGNATURES: dict[str, str] = {
    "Awake": "private void Awake()",
    "Start": "private void Start()",
    "Update": "private void Update()",
    "LateUpdate": "private void LateUpdate()",
    "OnTriggerEnter": "private void OnTriggerEnter(Collider other)",
    "OnTriggerEnter2D": "private void OnTriggerEnter2D(Collider2D other)",
}


def _float(name: str, default: str, tooltip: str) -> FieldSpec:
    """A serialized float field."""
    return FieldSpec("float", name, default, tooltip)


def _movement(ctx: Context) -> Contribution:
    """Input-driven movement: WASD or arrow keys move the transform."""
    speed = _float("moveSpeed", "5f", "Movement speed in units per second.")
    if not ctx.behaviour:
        velocity = MethodSpec(
            "GetVelocity",
            "public Vector3 GetVelocity(float horizontal, float vertical)",
            ("return new Vector3(horizontal, vertical, 0f) * moveSpeed;",),
        )
        return Contribution(fields=(speed,), methods=(velocity,))
    if ctx.three_d:
        direction = "new Vector3(horizontal, 0f, vertical)"
    elif "jump" in ctx.families:
        direction = "new Vector3(horizontal, 0f, 0f)"  # gravity and jumping own the y axis
    else:
        direction = "new Vector3(horizontal, vertical, 0f)"
    reads = ['float horizontal = Input.GetAxis("Horizontal");']
    if "vertical" in direction:
        reads.append('float vertical = Input.GetAxis("Vertical");')
    update = (
        *reads,
        f"Vector3 direction = Vector3.ClampMagnitude({direction}, 1f);",
        "transform.Translate(direction * moveSpeed * Time.deltaTime, Space.World);",
    )
    return Contribution(fields=(speed,), messages=(MessagePart("Update", update),))


def _jump(ctx: Context) -> Contribution:
    """Jumping: an impulse on the Jump button while the body stands on ground."""
    force = _float("jumpForce", "7f", "Upward impulse applied when jumping.")
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
        fields.append(_float("groundCheckDistance", "1.1f", "Ray length from the pivot down."))
        grounded = (
            "return Physics.Raycast(transform.position, Vector3.down, groundCheckDistance, "
            "groundLayer, QueryTriggerInteraction.Ignore);",
        )
    else:
        grounded = ("return body.IsTouchingLayers(groundLayer);",)
    fields.append(FieldSpec(body_type, "body", serialized=False))
    update = (
        'if (Input.GetButtonDown("Jump") && IsGrounded())',
        "{",
        f"    body.AddForce({up} * jumpForce, {mode});",
        "}",
    )
    return Contribution(
        fields=tuple(fields),
        messages=(
            MessagePart("Awake", (f"body = GetComponent<{body_type}>();",)),
            MessagePart("Update", update),
        ),
        methods=(MethodSpec("IsGrounded", "private bool IsGrounded()", grounded),),
        required_component=body_type,
    )


def _health(ctx: Context) -> Contribution:
    """Health: damage lowers it, reaching zero raises Died (and destroys a scene object)."""
    fields = (
        FieldSpec("int", "maxHealth", "100", "Health at full strength."),
        FieldSpec("int", "currentHealth", serialized=False),
    )
    take_damage = MethodSpec(
        "TakeDamage",
        "public void TakeDamage(int amount)",
        (
            "if (amount <= 0 || currentHealth <= 0)",
            "{",
            "    return;",
            "}",
            "",
            "currentHealth = Mathf.Max(currentHealth - amount, 0);",
            "if (currentHealth == 0)",
            "{",
            "    Die();",
            "}",
        ),
    )
    # Only a scene object has a GameObject to destroy; an asset just reports the death.
    die_body = ("Died?.Invoke();", "Destroy(gameObject);")
    die = MethodSpec("Die", "private void Die()", die_body if ctx.behaviour else die_body[:1])
    events = ("public event System.Action Died;",)
    if ctx.behaviour:
        awake = MessagePart("Awake", ("currentHealth = maxHealth;",))
        return Contribution(fields, events, (awake,), (take_damage, die))
    reset = MethodSpec("ResetHealth", "public void ResetHealth()", ("currentHealth = maxHealth;",))
    return Contribution(fields, events, methods=(reset, take_damage, die))


def _rotate(ctx: Context) -> Contribution:
    """Rotation: a steady spin around the axis that faces the camera in 2D, or up in 3D."""
    speed = _float("rotationSpeed", "90f", "Rotation speed in degrees per second.")
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


_COOLDOWN = "1f / Mathf.Max(fireRate, 0.01f)"


def _shoot_asset_methods() -> tuple[MethodSpec, ...]:
    """What a weapon asset offers without a scene: its cooldown and a way to fire from a pose."""
    get_cooldown = MethodSpec(
        "GetCooldown", "public float GetCooldown()", (f"return {_COOLDOWN};",)
    )
    fire = MethodSpec(
        "Fire",
        "public GameObject Fire(Vector3 position, Quaternion rotation)",
        (
            "return projectilePrefab != null",
            "    ? Object.Instantiate(projectilePrefab, position, rotation)",
            "    : null;",
        ),
    )
    return (get_cooldown, fire)


def _shoot(ctx: Context) -> Contribution:
    """Shooting: Fire1 spawns projectiles at a fire point, limited by a fire rate."""
    prefab = FieldSpec("GameObject", "projectilePrefab", tooltip="The projectile to spawn.")
    rate = _float("fireRate", "4f", "Shots per second.")
    if not ctx.behaviour:
        return Contribution(fields=(prefab, rate), methods=_shoot_asset_methods())
    fields = (
        prefab,
        FieldSpec("Transform", "firePoint", tooltip="Where projectiles appear; defaults to self."),
        rate,
        FieldSpec("float", "nextFireTime", serialized=False),
    )
    update = ('if (Input.GetButton("Fire1") && Time.time >= nextFireTime)', "{", "    Fire();", "}")
    fire_body = (
        "if (projectilePrefab == null)",
        "{",
        "    return;",
        "}",
        "",
        f"nextFireTime = Time.time + {_COOLDOWN};",
        "Transform origin = firePoint != null ? firePoint : transform;",
        "Instantiate(projectilePrefab, origin.position, origin.rotation);",
    )
    return Contribution(
        fields=fields,
        messages=(MessagePart("Update", update),),
        methods=(MethodSpec("Fire", "public void Fire()", fire_body),),
    )


def _spawn_method(ctx: Context) -> MethodSpec:
    """Spawn(): one prefab at a random point within spawnRadius on the ground plane."""
    offset: tuple[str, ...]
    if ctx.three_d:
        offset = (
            "Vector2 circle = Random.insideUnitCircle * spawnRadius;",
            "Vector3 spawnOffset = new Vector3(circle.x, 0f, circle.y);",
        )
    else:
        offset = ("Vector3 spawnOffset = Random.insideUnitCircle * spawnRadius;",)
    # A scene spawner spawns around itself; an asset has no position, so the caller gives one.
    signature, center = (
        ("()", "transform.position") if ctx.behaviour else ("(Vector3 center)", "center")
    )
    body = (
        "if (prefab == null)",
        "{",
        "    return null;",
        "}",
        "",
        *offset,
        f"return Object.Instantiate(prefab, {center} + spawnOffset, Quaternion.identity);",
    )
    return MethodSpec("Spawn", f"public GameObject Spawn{signature}", body)


def _spawn(ctx: Context) -> Contribution:
    """Spawning: a prefab appears near the spawner every few seconds."""
    fields = (
        FieldSpec("GameObject", "prefab", tooltip="The object to spawn."),
        _float("spawnInterval", "2f", "Seconds between spawns."),
        _float("spawnRadius", "3f", "How far from the spawner objects may appear."),
    )
    if not ctx.behaviour:
        return Contribution(fields=fields, methods=(_spawn_method(ctx),))
    loop = MethodSpec(
        "SpawnLoop",
        "private IEnumerator SpawnLoop()",
        (
            "var wait = new WaitForSeconds(spawnInterval);",
            "while (true)",
            "{",
            "    Spawn();",
            "    yield return wait;",
            "}",
        ),
    )
    return Contribution(
        fields=fields,
        messages=(MessagePart("Start", ("StartCoroutine(SpawnLoop());",)),),
        methods=(loop, _spawn_method(ctx)),
        uses_coroutine=True,
    )


def _collect(ctx: Context) -> Contribution:
    """Collectibles: the player touching the item scores its value and removes it."""
    value = FieldSpec("int", "scoreValue", "1", "Points awarded when collected.")
    if not ctx.behaviour:
        add = MethodSpec("AddTo", "public int AddTo(int score)", ("return score + scoreValue;",))
        return Contribution(fields=(value,), methods=(add,))
    trigger = (
        'if (other.CompareTag("Player"))',
        "{",
        "    Collected?.Invoke(scoreValue);",
        "    Destroy(gameObject);",
        "}",
    )
    message = "OnTriggerEnter" if ctx.three_d else "OnTriggerEnter2D"
    return Contribution(
        fields=(value,),
        events=("public static event System.Action<int> Collected;",),
        messages=(MessagePart(message, trigger),),
    )


def _camera(ctx: Context) -> Contribution:
    """A follow camera: eases towards a target plus an offset after everything has moved."""
    offset = "new Vector3(0f, 5f, -10f)" if ctx.three_d else "new Vector3(0f, 0f, -10f)"
    fields = (
        FieldSpec("Vector3", "offset", offset, "Position relative to the target."),
        _float("smoothSpeed", "5f", "How quickly the camera catches up."),
    )
    if not ctx.behaviour:
        desired = MethodSpec(
            "GetDesiredPosition",
            "public Vector3 GetDesiredPosition(Vector3 targetPosition)",
            ("return targetPosition + offset;",),
        )
        return Contribution(fields=fields, methods=(desired,))
    target = FieldSpec("Transform", "target", tooltip="The transform to follow.")
    late_update = (
        "if (target != null)",
        "{",
        "    Vector3 desired = target.position + offset;",
        "    float t = smoothSpeed * Time.deltaTime;",
        "    transform.position = Vector3.Lerp(transform.position, desired, t);",
        "}",
    )
    return Contribution(
        fields=(target, *fields), messages=(MessagePart("LateUpdate", late_update),)
    )


def idle(ctx: Context) -> Contribution:
    """The fallback when no family fits: a gentle idle bob up and down."""
    fields = (
        _float("speed", "1f", "Bobbing cycles per second."),
        _float("amplitude", "0.25f", "Bobbing height in units."),
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
        fields=(*fields, FieldSpec("Vector3", "startPosition", serialized=False)),
        messages=(
            MessagePart("Start", ("startPosition = transform.position;",)),
            MessagePart("Update", update),
        ),
    )


#: Families whose scripts treat the player as someone else (a camera target, a collector),
#: so "player" in their prompts does not ask for input-driven movement.
TARGET_FAMILIES = frozenset({"spawn", "collect", "camera"})

#: Families in the order their members are written.
FAMILIES: tuple[Family, ...] = (
    Family("movement", ("move", "walk", "run"), _movement, ("speed", "controller", "player")),
    Family("jump", ("jump", "hop"), _jump),
    Family("health", ("health", "damage", "hp", "die", "dying", "death", "life", "lives"), _health),
    Family("rotate", ("rotate", "spin", "turn"), _rotate),
    Family("shoot", ("shoot", "fire", "bullet", "projectile", "gun"), _shoot),
    Family("spawn", ("spawn", "enemy", "wave"), _spawn),
    Family("collect", ("coin", "collect", "pickup", "score", "item"), _collect),
    Family("camera", ("camera", "follow"), _camera),
)
