"""Rule ids that stay distinct within one output file.

Two Sigma rules may share an id (a copied rule file). In one Kibana import file the second is
refused: Kibana's rule import reports "More than one rule with rule-id: ... found" for a rule_id
it has already read from the file and imports one rule; in Sentinel a template id names one
analytics rule. So the rules after the first with an id get an id derived from it and from their
file and title (a UUID, the same on every run), and say so in their description.
"""

from __future__ import annotations

import uuid


class DistinctIds:
    """Hands out the ids of one output file: a rule's own id, or a derived one when it is taken."""

    def __init__(self) -> None:
        """Start with no id taken."""
        self.taken: set[str] = set()

    def claim(self, rule_id: str, path: str, title: str) -> tuple[str, str | None]:
        """``(id to write, note)``: ``rule_id`` when free, else a derived UUID and a sentence for
        the rule's description naming the shared id."""
        if rule_id not in self.taken:
            self.taken.add(rule_id)
            return rule_id, None
        n = 0
        while True:
            derived = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sigport:{rule_id}:{path}:{title}:{n}"))
            if derived not in self.taken:
                break
            n += 1
        self.taken.add(derived)
        return derived, (f"(sigport: the Sigma id {rule_id} is also an earlier rule's in this "
                         "file; this rule's id is derived from it)")
