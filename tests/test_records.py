"""The run's records as types: each JSON form read back as written, older forms still read,
fields a newer writer added kept, and what is not a record refused."""

import json

import pytest

from benchbench.core.records import RECORD_VERSION, CellStatus, EvaluationRecord, Manifest
from benchbench.plugin.metric import EvalSpec, declaration


def test_an_evaluation_record_round_trips_and_leaves_out_what_is_unset():
    fields = {"metric": "mig", "key": "abc", "status": "done", "values": {"mig": 0.5}, "options": {"num_bins": 20}}
    record = EvaluationRecord.from_json({**fields, "record": RECORD_VERSION, "from_a_newer_writer": [1, 2]})
    assert record.values == {"mig": 0.5} and record.extra == {"from_a_newer_writer": [1, 2]}
    again = record.to_json()
    assert again == {**fields, "record": RECORD_VERSION, "from_a_newer_writer": [1, 2]}
    assert "error" not in again and "models" not in again  # unset: not written as null
    assert EvaluationRecord.from_json(json.loads(json.dumps(again))) == record


def test_a_record_written_before_records_were_typed_reads_as_version_1():
    old = {"metric": "dci", "key": "645fa013b5ef", "status": "failed", "error": "ValueError: x", "options": {}}
    record = EvaluationRecord.from_json(old)
    assert record.version == 1 and record.error == "ValueError: x" and record.to_json()["record"] == 1


@pytest.mark.parametrize(
    "raw",
    [
        [1, 2],
        {"metric": "mig", "key": "a"},
        {"metric": "mig", "key": "a", "status": "finished"},
        {"metric": "mig", "key": "a", "status": "done"},
    ],  # fmt: skip
)
def test_what_is_not_an_evaluation_record_is_refused(raw):
    with pytest.raises(ValueError):
        EvaluationRecord.from_json(raw)


def test_a_cell_status_keeps_its_facts_and_refuses_an_unknown_status():
    raw = {"status": "trained", "pack": "p1", "steps_per_second": 12.5, "files": {"model.pt": {"size": 3}}}
    status = CellStatus.from_json(raw)
    assert (status.status, status.pack, status.files) == ("trained", "p1", {"model.pt": {"size": 3}})
    assert status.to_json() == raw and status.extra == {"steps_per_second": 12.5}  # a fact it has no field for
    with pytest.raises(ValueError, match="no known status"):
        CellStatus.from_json({"status": "done"})  # layout 1's word, not a status of today's


def test_a_manifest_round_trips_and_an_empty_one_is_false():
    raw = {"layout": 3, "grid": {"name": "quick", "spec": {"seeds": 1}}, "cells": ["a"], "evaluations": [],
           "executor": "local", "custom": True}  # fmt: skip
    manifest = Manifest.from_json(raw)
    assert manifest.grid_name == "quick" and manifest.grid_spec == {"seeds": 1} and manifest.extra == {"custom": True}
    assert manifest.to_json() == raw and manifest
    assert not Manifest() and Manifest().grid_spec == {}


def test_execution_options_stay_out_of_the_key_and_are_recorded():
    """dci's device says where its trees grow, not what they compute: one key for every device."""
    cpu = EvalSpec.of("dci", {"device": "cpu", "num_train": 100})
    default = EvalSpec.of("dci", {"num_train": 100})
    assert cpu.key == default.key and cpu.options["device"] == "cpu"
    assert cpu.to_json()["execution"] == ["device"] and EvalSpec.from_json(cpu.to_json()).key == cpu.key
    assert declaration("dci").is_default({**declaration("dci").resolve({}), "device": "cuda"})
    assert "execution" not in EvalSpec.of("mig").to_json()  # a metric without any keeps its record as it was


def test_an_option_introduced_later_keeps_the_records_made_before_it_under_their_key():
    """dci's ``ties`` came after records of it existed: at ``lowest``, what they computed, it is
    left out of the key (the committed quick run's records are found); at its default it is a
    new evaluation."""
    before = EvalSpec("dci", {"num_train": 1000, "num_test": 500, "device": None}, ("device",))  # as recorded then
    lowest = EvalSpec.of("dci", {"num_train": 1000, "num_test": 500, "ties": "lowest"})
    assert lowest.key == before.key == "231c02aa4e44"
    assert EvalSpec.of("dci", {"num_train": 1000, "num_test": 500}).key != before.key  # ties = "random"
    assert lowest.options["ties"] == "lowest"  # recorded, only not hashed


def test_the_downstream_tasks_solver_keeps_scikit_learns_records_under_their_key():
    """``solver`` came after records of the downstream task existed: at ``scikit-learn``, what they
    computed, it is left out of the key; the batched default is a new evaluation."""
    old = EvalSpec.of("downstream_task", {"solver": "scikit-learn"})
    before = EvalSpec("downstream_task", {k: v for k, v in old.options.items() if k != "solver"}, ("device",))
    assert old.key == before.key and old.options["solver"] == "scikit-learn"
    assert EvalSpec.of("downstream_task").key != before.key


@pytest.mark.parametrize("metric, key", [("sap", "45c99c082689"), ("modularity_explicitness", "2eed9acddb0f")])
def test_a_solver_added_later_keeps_the_committed_records_under_their_key(metric, key):
    """SAP and modularity/explicitness had no ``solver`` when the committed quick run was
    evaluated: at ``scikit-learn`` each is that run's record (its key, as the manifest lists it);
    the batched default is a new evaluation."""
    fast = {"num_train": 3000, "num_test": 1500}
    assert EvalSpec.of(metric, {**fast, "solver": "scikit-learn"}).key == key
    assert EvalSpec.of(metric, fast).key != key
