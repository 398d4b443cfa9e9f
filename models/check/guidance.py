"""What a finding means for the importer and what to prepare: plain words from public facts.

The words summarise the Uyghur Forced Labor Prevention Act (Pub. L. 117-78), section 307 of
the Tariff Act of 1930 (19 U.S.C. 1307) with CBP's regulations on detained goods (19 CFR
12.42 to 12.44), CBP's "UFLPA Operational Guidance for Importers" (June 2022) and the US
Department of Labor's List of Goods Produced by Child Labor or Forced Labor. They are
written by flrisk; they are not legal advice, and the publications themselves decide.
"""

from __future__ import annotations

_PRESUMPTION = (
    "Under the Uyghur Forced Labor Prevention Act, goods mined, produced or manufactured "
    "wholly or in part in Xinjiang, or by an entity on the UFLPA Entity List, are presumed "
    "to be made with forced labour and are barred from entry into the United States. The "
    "presumption is rebuttable: CBP may admit the goods only if the importer has followed "
    "CBP's guidance, answered every CBP request for information fully, and shows by clear "
    "and convincing evidence that no forced labour was used."
)
_DOCUMENTS = (
    "CBP's Operational Guidance for Importers asks for: supply-chain tracing (purchase "
    "orders, invoices, packing lists, bills of lading, production and payment records that "
    "follow the goods and their inputs from raw material to the finished good, at every "
    "tier); the importer's due-diligence system (a supplier code of conduct, risk "
    "assessment, supplier audits and monitoring, remediation, training); and, for inputs "
    "from Xinjiang or from a listed entity, evidence that the goods were not made with "
    "forced labour."
)

GUIDANCE: dict[str, str] = {
    "entity_list": (
        f"{_PRESUMPTION} Goods from this supplier, or holding its inputs, will be presumed "
        "inadmissible. Confirm whether this supplier is the listed entity (same name, "
        "address and registration); if it is, expect detention of its goods. "
        f"{_DOCUMENTS}"
    ),
    "wro": (
        "CBP has issued a Withhold Release Order (or a Finding) on goods of this producer "
        "under 19 U.S.C. 1307, which bars goods made wholly or in part with forced labour. "
        "Shipments of the goods it covers are detained at the port; under a Finding they may "
        "be seized. An importer may export detained goods or submit proof of admissibility "
        "(a certificate of origin and a detailed statement tracing the goods, 19 CFR 12.43). "
        "Check whether your goods fall within the order's scope, and gather the "
        "supply-chain records before shipping."
    ),
    "xinjiang": (
        f"{_PRESUMPTION} An address in Xinjiang places this supplier's production there, "
        "unless you can show otherwise (for example, an office in Xinjiang and a factory "
        f"elsewhere). {_DOCUMENTS}"
    ),
    "ilab_goods": (
        "The US Department of Labor lists these goods from this country as made with forced "
        "labour. The list is not itself an import ban, but it marks goods where CBP looks "
        "for forced labour and where a Withhold Release Order can follow. Map this supplier's "
        "sources of the good, ask for certifications and audit results, and keep the "
        "records that show where the good came from."
    ),
    "upstream": (
        "A supplier further up this chain has a finding, and this supplier's goods may hold "
        "its inputs. Both the UFLPA and 19 U.S.C. 1307 cover goods made wholly or in part "
        "with forced labour: an input at any tier counts. Trace which of this supplier's "
        "goods use the upstream supplier's inputs, and keep the records that follow them. "
        f"{_DOCUMENTS}"
    ),
}
