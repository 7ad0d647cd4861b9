"""A menu's modifier nesting (group -> modifier -> group ...): no cycles, and no deeper than an order
may nest. Part of ``menus.parse_menu``'s checks; problems go to its ``add(where, message)``."""


def nesting_check(add, groups: dict, modifiers: dict, *, max_depth: int) -> None:
    """``groups`` and ``modifiers`` by Link id, as ``parse_menu`` built them; references to ids that are
    not defined are skipped here (reported as undefined references)."""
    edges = {
        gid: [(nested, mid) for mid in g.modifier_ids if mid in modifiers for nested in modifiers[mid].group_ids]
        for gid, g in groups.items()
    }
    _cycles(add, groups, edges)
    _depth(add, groups, edges, max_depth)


def _cycles(add, groups: dict, edges: dict) -> None:
    """Report each nesting cycle as group -> modifier -> group ... (iterative DFS, no recursion limit)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    found = 0
    for start in groups:
        if start in state:
            continue
        path, stack = [start], [iter(edges[start])]
        via: list[str] = []
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
                if via:
                    via.pop()
                continue
            target, mid = nxt
            if target not in groups:
                continue  # reported as an undefined reference
            if state.get(target) == 1:
                at = path.index(target)
                steps = [part for g, m in zip(path[at:], [*via[at:], mid], strict=True) for part in (g, m)]
                add("modifier nesting", "cycle " + " -> ".join([*steps, target]))
                found += 1
                if found >= 5:
                    return
            elif target not in state:
                state[target] = 1
                path.append(target)
                via.append(mid)
                stack.append(iter(edges[target]))


def _depth(add, groups: dict, opens: dict, max_depth: int) -> None:
    """Report a chain of more than ``max_depth`` groups (group -> modifier -> group ...), one level at a time."""
    levels: list[dict] = [dict.fromkeys(groups)]  # group -> (the group, modifier) that opened it one level up
    while len(levels) <= max_depth and levels[-1]:
        deeper: dict = {}
        for gid in levels[-1]:
            for nested, mid in opens[gid]:
                if nested in groups:
                    deeper.setdefault(nested, (gid, mid))
        levels.append(deeper)
    if len(levels) <= max_depth or not levels[-1]:
        return
    gid = next(iter(levels[-1]))
    chain = [gid]
    for level in reversed(levels[1:]):
        gid, mid = level[gid]
        chain[:0] = [gid, mid]
    add(
        f"modifier_groups {chain[-1]!r}",
        f"nests more than {max_depth} levels deep (an order may nest {max_depth}): " + " -> ".join(chain),
    )
