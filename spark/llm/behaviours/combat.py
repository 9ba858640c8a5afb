"""Behaviours of a fight: health and its bar, shooting, projectiles, spawners and hazards."""

from __future__ import annotations

from spark.llm.behaviours.parts import (
    COLLECTIONS,
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

_DAMAGE = 'SendMessage("TakeDamage", {amount}, SendMessageOptions.DontRequireReceiver);'


def _health_changed(ctx: Context) -> tuple[str, ...]:
    """What follows any change of health: the bar redrawn, when the class has one."""
    # An asset keeps the bar's setting but not its drawing: there is no scene to draw in.
    return ("UpdateHealthBar();",) if ctx.has("health_bar") and ctx.behaviour else ()


def health(ctx: Context) -> Contribution:
    """Health: damage lowers it, healing restores it, reaching zero raises Died."""
    fields = (
        FieldSpec("int", "maxHealth", "100", "Health at full strength."),
        state("int", "currentHealth"),
    )
    hit = (*sound(ctx), *(("Shake();",) if ctx.has("camera_shake") else ()))
    take_damage = MethodSpec(
        "TakeDamage",
        "public void TakeDamage(int amount)",
        (
            *block("amount <= 0 || currentHealth <= 0", ("return;",)),
            "",
            "currentHealth = Mathf.Max(currentHealth - amount, 0);",
            *_health_changed(ctx),
            *(hit if ctx.behaviour else ()),
            *block("currentHealth == 0", ("Die();",)),
        ),
    )
    heal = MethodSpec(
        "Heal",
        "public void Heal(int amount)",
        (
            *block("amount <= 0 || currentHealth <= 0", ("return;",)),
            "",
            "currentHealth = Mathf.Min(currentHealth + amount, maxHealth);",
            *_health_changed(ctx),
        ),
    )
    # Only a scene object has a GameObject to destroy; an asset just reports the death.
    die_body = ("Died?.Invoke();", "Destroy(gameObject);")
    die = MethodSpec("Die", "private void Die()", die_body if ctx.behaviour else die_body[:1])
    events = ("public event System.Action Died;",)
    if ctx.behaviour:
        awake = MessagePart("Awake", ("currentHealth = maxHealth;",))
        return Contribution(fields, events, (awake,), (take_damage, heal, die))
    reset = MethodSpec("ResetHealth", "public void ResetHealth()", ("currentHealth = maxHealth;",))
    return Contribution(fields, events, methods=(reset, take_damage, heal, die))


def health_bar(ctx: Context) -> Contribution:
    """A UI bar: a Slider that shows health against its maximum."""
    bar = FieldSpec("Slider", "healthBar", tooltip="The UI Slider that shows health.")
    redraw = MethodSpec(
        "UpdateHealthBar",
        "private void UpdateHealthBar()",
        block(
            "healthBar != null",
            ("healthBar.maxValue = maxHealth;", "healthBar.value = currentHealth;"),
        ),
    )
    return Contribution(
        fields=(bar,),
        messages=(MessagePart("Start", ("UpdateHealthBar();",)),),
        methods=(redraw,),
        usings=(UI,),
    )


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


def shoot(ctx: Context) -> Contribution:
    """Shooting: Fire1 spawns projectiles at a fire point, limited by a fire rate."""
    prefab = FieldSpec("GameObject", "projectilePrefab", tooltip="The projectile to spawn.")
    rate = float_field("fireRate", "4f", "Shots per second.")
    if not ctx.behaviour:
        return Contribution(fields=(prefab, rate), methods=_shoot_asset_methods())
    fields = (
        prefab,
        FieldSpec("Transform", "firePoint", tooltip="Where projectiles appear; defaults to self."),
        rate,
        state("float", "nextFireTime"),
    )
    fire_body = (
        *block("projectilePrefab == null", ("return;",)),
        "",
        f"nextFireTime = Time.time + {_COOLDOWN};",
        "Transform origin = firePoint != null ? firePoint : transform;",
        "Instantiate(projectilePrefab, origin.position, {rotation});",
        *sound(ctx),
    )
    fire = MethodSpec("Fire", "public void Fire()", _fire_body(fire_body, "origin.rotation"))
    if ctx.npc:
        return _shoot_at_player(ctx, fields, fire_body)
    update = block('Input.GetButton("Fire1") && Time.time >= nextFireTime', ("Fire();",))
    return Contribution(fields=fields, messages=(MessagePart("Update", update),), methods=(fire,))


def _fire_body(body: tuple[str, ...], rotation: str) -> tuple[str, ...]:
    return tuple(line.replace("{rotation}", rotation) for line in body)


def _shoot_at_player(
    ctx: Context, fields: tuple[FieldSpec, ...], fire_body: tuple[str, ...]
) -> Contribution:
    """An enemy's or turret's shooting: at the player, whenever they are in range."""
    if ctx.three_d:
        aim = "Quaternion.LookRotation(shootTarget.position - origin.position)"
    else:
        # 2D projectiles fly along their right axis: turn it towards the target.
        aim = "Quaternion.Euler(0f, 0f, Mathf.Atan2(aimAt.y, aimAt.x) * Mathf.Rad2Deg)"
    body = list(_fire_body(fire_body, "aim"))
    at = body.index("Transform origin = firePoint != null ? firePoint : transform;") + 1
    if not ctx.three_d:
        body.insert(at, "Vector3 aimAt = shootTarget.position - origin.position;")
        at += 1
    body.insert(at, f"Quaternion aim = {aim};")
    start = (
        'GameObject shootFound = GameObject.FindGameObjectWithTag("Player");',
        *block("shootFound != null", ("shootTarget = shootFound.transform;",)),
    )
    in_range = (
        "shootTarget != null && Time.time >= nextFireTime"
        " && Vector3.Distance(transform.position, shootTarget.position) <= fireRange"
    )
    return Contribution(
        fields=(
            *fields,
            float_field("fireRange", "10f", "How close the player must be to be shot at."),
            state("Transform", "shootTarget"),
        ),
        messages=(
            MessagePart("Start", start),
            MessagePart("Update", block(in_range, ("Fire();",))),
        ),
        methods=(
            MethodSpec(
                "Fire",
                "public void Fire()",
                (*block("shootTarget == null", ("return;",)), "", *body),
            ),
        ),
    )


def projectile(ctx: Context) -> Contribution:
    """A projectile: flies straight ahead, damages what it hits, and expires."""
    fields = (
        float_field("projectileSpeed", "15f", "Flight speed in units per second."),
        FieldSpec("int", "projectileDamage", "10", "Damage dealt to what it hits."),
        float_field("lifetime", "3f", "Seconds before it disappears unhit."),
    )
    ahead = "Vector3.forward" if ctx.three_d else "Vector3.right"
    hit = (
        # Any script with TakeDamage(int) takes the hit; others are simply struck.
        "other." + _DAMAGE.format(amount="projectileDamage"),
        "Destroy(gameObject);",
    )
    return Contribution(
        fields=fields,
        messages=(
            MessagePart("Start", ("Destroy(gameObject, lifetime);",)),
            MessagePart(
                "Update", (f"transform.Translate({ahead} * projectileSpeed * Time.deltaTime);",)
            ),
            MessagePart(trigger_message(ctx), block("!other.isTrigger", hit)),
        ),
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
        *block("prefab == null", ("return null;",)),
        "",
        *offset,
        f"return Object.Instantiate(prefab, {center} + spawnOffset, Quaternion.identity);",
    )
    return MethodSpec("Spawn", f"public GameObject Spawn{signature}", body)


def spawn(ctx: Context) -> Contribution:
    """Spawning: a prefab appears near the spawner every few seconds."""
    fields = (
        FieldSpec("GameObject", "prefab", tooltip="The object to spawn."),
        float_field("spawnInterval", "2f", "Seconds between spawns."),
        float_field("spawnRadius", "3f", "How far from the spawner objects may appear."),
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
        usings=(COLLECTIONS,),
    )


def hazard(ctx: Context) -> Contribution:
    """A hazard: spikes, lava or a trap that damages the player on contact."""
    damage = FieldSpec("int", "contactDamage", "10", "Damage dealt to the player on contact.")
    touch = block(
        'other.CompareTag("Player")', ("other." + _DAMAGE.format(amount="contactDamage"),)
    )
    return Contribution(fields=(damage,), messages=(MessagePart(trigger_message(ctx), touch),))
