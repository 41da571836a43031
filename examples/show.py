"""Print rasid-predict output readably: python examples/show.py predictions.jsonl"""

import json
import sys


def main(path: str) -> None:
    for line in open(path, encoding="utf-8"):
        rec = json.loads(line)
        print(f"== {rec['id']}")
        types = ", ".join(f"{a['label']} {a['score']:.2f}" for a in rec["attack_types"]) or "no attack"
        print(f"   attack types: {types}")
        for e in rec["entities"]:
            count = ""
            if e["label"] in ("KILLED", "WOUNDED"):
                count = f"  count={e.get('count')} ({e.get('qualifier')})"
            print(f"   {e['label']:<8} [{e['start']:>5}:{e['end']:<5}] {e['text']}{count}")
        for ev in rec["events"]:
            labels = "+".join(a["label"] for a in ev["attack_types"])
            print(f"   event [{ev['start']}:{ev['end']}] {labels}: actors={ev['actors']} killed={ev['killed']} "
                  f"wounded={ev['wounded']}")


if __name__ == "__main__":
    main(sys.argv[1])
