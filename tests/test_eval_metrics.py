"""rasid-eval's partial-match entity F1 and casualty-count accuracy, on constructed cases."""

from rasid.training.evaluate import partial_and_count_metrics

GOLD = [[{"start": 0, "end": 10, "label": "ACTOR"}, {"start": 20, "end": 32, "label": "KILLED", "count": 12000},
         {"start": 40, "end": 45, "label": "WOUNDED", "count": None}]]


def test_overlap_of_the_same_label_is_a_partial_match():
    pred = [[{"start": 0, "end": 6, "label": "ACTOR"},  # cut short: still a partial match
             {"start": 20, "end": 24, "label": "KILLED", "count": 12},  # only the "12" of "12 ألف": matched, count wrong
             {"start": 40, "end": 45, "label": "KILLED", "count": None}]]  # right place, wrong label: no match
    partial, counts = partial_and_count_metrics(GOLD, pred, ["ACTOR", "KILLED", "WOUNDED"])
    assert (partial["precision"], partial["recall"]) == (round(2 / 3, 4), round(2 / 3, 4))
    assert counts == {"accuracy": 0.0, "matched_spans": 1}


def test_each_span_matches_once_and_counts_compare_vague_as_none():
    pred = [[{"start": 0, "end": 10, "label": "ACTOR"}, {"start": 2, "end": 8, "label": "ACTOR"},
             {"start": 20, "end": 32, "label": "KILLED", "count": 12000},
             {"start": 41, "end": 45, "label": "WOUNDED", "count": None}]]
    partial, counts = partial_and_count_metrics(GOLD, pred, ["ACTOR", "KILLED", "WOUNDED"])
    assert partial["recall"] == 1.0 and partial["precision"] == 0.75  # the second ACTOR finds no free gold span
    assert counts == {"accuracy": 1.0, "matched_spans": 2}
