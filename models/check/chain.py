"""The supply chain of a supplier list: who supplies whom, cycles, tiers, upstream paths.

``supplies_to`` points from a supplier to its customer, so a chain runs from raw material
(tier 3, 4 ...) down to the importer's direct supplier (tier 1). A finding about a supplier
concerns every customer further down: the customer's goods may hold its inputs. Each walk
visits a supplier once, so a list whose ``supplies_to`` loops (A supplies B supplies A) is
reported, never followed round.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Chain:
    """The customers of each supplier and the suppliers of each customer.

    Attributes:
        customers: supplier_id -> the supplier_ids it supplies (known suppliers only).
        suppliers: supplier_id -> the supplier_ids that supply it.
    """

    customers: Mapping[str, Sequence[str]]
    suppliers: Mapping[str, Sequence[str]]


def build_chain(ids: Sequence[str], supplies_to: Sequence[Sequence[str]]) -> Chain:
    """The chain of the list; links to a supplier not in ``ids`` are left out.

    Args:
        ids: The suppliers' ids.
        supplies_to: Per supplier, the ids of its customers.

    Returns:
        The chain, both ways.
    """
    known = set(ids)
    customers: dict[str, list[str]] = {i: [] for i in ids}
    suppliers: dict[str, list[str]] = {i: [] for i in ids}
    for sid, targets in zip(ids, supplies_to, strict=True):
        for target in dict.fromkeys(targets):
            if target in known:
                customers[sid].append(target)
                suppliers[target].append(sid)
    return Chain(customers, suppliers)


def cycles(chain: Chain) -> list[list[str]]:
    """The loops of ``supplies_to``: each a list of ids, smallest id first, sorted.

    Strongly connected components of two or more suppliers, or one that supplies itself
    (Tarjan's algorithm, iterative, so a long chain cannot exhaust the stack).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in chain.customers:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = chain.customers[node]
            if pos < len(targets):
                work.append((node, pos + 1))
                nxt = targets[pos]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in chain.customers[node]:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(found)


def derived_tiers(chain: Chain) -> dict[str, int]:
    """Each supplier's tier from the chain: 1 supplies no one in the list, 2 supplies a 1 ...

    A supplier reached only through a loop keeps no derived tier.
    """
    tiers = {sid: 1 for sid, targets in chain.customers.items() if not targets}
    queue = deque(tiers)
    while queue:
        customer = queue.popleft()
        for supplier in chain.suppliers[customer]:
            if supplier not in tiers:
                tiers[supplier] = tiers[customer] + 1
                queue.append(supplier)
    return tiers


def downstream_paths(chain: Chain, source: str) -> dict[str, list[str]]:
    """Every customer further down from ``source``, with the shortest path to it.

    Args:
        chain: The list's chain.
        source: The supplier whose finding travels down.

    Returns:
        customer id -> the path ``[source, ..., customer]``; ``source`` itself is left out
        (even when a loop leads back to it).
    """
    parent: dict[str, str] = {source: ""}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        for customer in chain.customers[node]:
            if customer not in parent:
                parent[customer] = node
                queue.append(customer)
    out: dict[str, list[str]] = {}
    for node in parent:
        if node == source:
            continue
        path = [node]
        while path[-1] != source:
            path.append(parent[path[-1]])
        out[node] = path[::-1]
    return out
