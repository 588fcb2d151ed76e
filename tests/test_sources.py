"""What is scored: an encoder's source parsed once, the record a run keeps of it, and the one
protocol every scored thing answers metrics through."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from toy import Adapter, ToyFactors

from benchbench.core.records import EncoderSource, ScoredEncoder
from benchbench.core.registry import metrics
from benchbench.evaluation.encoders import CodeTable, identity
from benchbench.plugin.metric import MetricNotApplicable
from benchbench.plugin.representation import Representation, SampledView

REFERENCE = Path(__file__).parent.parent / "results" / "reference"


@pytest.mark.parametrize(
    "text, kind, where, name",
    [
        ("baseline:pca", "baseline", "pca", None),
        ("codes:some/codes.npz", "codes", os.path.abspath("some/codes.npz"), None),
        ("mine.py:encode", "file", os.path.abspath("mine.py"), "encode"),
        ("package.module:model", "module", "package.module", "model"),
        ("net.pt", "torchscript", os.path.abspath("net.pt"), None),
        ("net.pt2", "exported", os.path.abspath("net.pt2"), None),
        ("dir/file:with-colon.pt", "torchscript", os.path.abspath("dir/file:with-colon.pt"), None),
    ],
)
def test_a_source_is_parsed_once_into_its_kind_and_reads_back_from_its_text(text, kind, where, name):
    source = EncoderSource.parse(text)
    assert (source.kind, source.where, source.name) == (kind, where, name)
    assert EncoderSource.parse(source.text) == source  # the written form is read back as the same source


def test_the_committed_scored_records_read_and_write_back_byte_for_byte():
    files = sorted(REFERENCE.glob("*/cells/*/encoder.json"))
    assert len(files) >= 4  # the baselines reference run scores pca, ica, random and factors
    for path in files:
        raw = json.loads(path.read_text())
        record = ScoredEncoder.from_json(raw)
        assert record.source.kind == "baseline" and record.to_json() == raw
        assert identity(record.source, record.latent_dim) == record.sha256  # what it is, hashed as when scored


def test_a_record_that_is_not_a_scored_encoder_is_refused():
    with pytest.raises(ValueError, match="sha256"):
        ScoredEncoder.from_json({"encoder": "baseline:pca", "label": "x", "latent_dim": 3, "seed": 0})


def test_codes_by_index_answer_what_they_cannot_give_as_not_applicable():
    dataset = ToyFactors()
    table = CodeTable(np.arange(12, dtype=np.float32).reshape(6, 2), "my codes")
    np.testing.assert_array_equal(table.encode_indices(dataset, np.array([4, 1])), [[8, 9], [2, 3]])
    images = dataset.images_at(np.arange(2))
    for call in (
        lambda: table.encode(images),
        lambda: table.posterior(images),
        lambda: table.reconstruct(images),
        lambda: table.sampled(np.random.default_rng(0)),
    ):
        with pytest.raises(MetricNotApplicable, match="my codes"):
            call()


def test_a_representation_that_only_encodes_images_is_encoded_by_index_through_them():
    dataset = ToyFactors()
    model = Adapter(lambda x: 2 * x)
    indices = np.array([7, 0, 359])
    np.testing.assert_allclose(model.encode_indices(dataset, indices), 2 * dataset.images_at(indices).reshape(3, -1))


class Gaussian(Representation):
    """μ = the factor values, log σ² = log 4: sampled codes are μ + 2ε."""

    has_posterior = True
    latent_dim = 4

    def posterior_indices(self, dataset, indices):
        mu = dataset.index_to_factors(np.asarray(indices)).astype(np.float32)
        return mu, np.full_like(mu, np.log(4.0))

    def encode_indices(self, dataset, indices):
        return self.posterior_indices(dataset, indices)[0]


def test_calling_a_metric_on_sampled_codes_draws_them_from_the_codes_stream():
    dataset, model = ToyFactors(), Gaussian()
    mig = metrics.get("mig")
    options = {"num_train": 400}
    by_call = mig(
        dataset,
        model,
        np.random.default_rng(1),
        codes_rng=np.random.default_rng(2),
        representation="sampled",
        **options,
    )
    by_hand = mig.fn(dataset, SampledView(model, np.random.default_rng(2)), np.random.default_rng(1), **options)
    assert by_call["mig"] == by_hand["mig"]
    mean = mig(dataset, model, np.random.default_rng(1), **options)
    assert mean["mig"] != by_call["mig"]  # the option changes what is scored
    # the hand-computed draw: μ + σ·ε with ε from the codes stream
    indices = np.array([3, 5])
    eps = np.random.default_rng(9).standard_normal((2, 4), dtype=np.float32)
    drawn = SampledView(model, np.random.default_rng(9)).encode_indices(dataset, indices)
    np.testing.assert_allclose(drawn, dataset.index_to_factors(indices) + 2 * eps, rtol=1e-6)
