import numpy as np

from classifier.packing import pack, prune, unpack


def test_packed_weights_keep_zeros_signs_and_relative_precision() -> None:
    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((5000, 3)) * np.exp(rng.uniform(-6, 3, (5000, 3)))).astype(
        np.float32
    )
    weights[rng.random((5000, 3)) < 0.6] = 0.0
    weights[100:200] = 0.0  # rows no column uses are not stored
    idf = rng.uniform(1, 12, 5000).astype(np.float32)
    bias = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    arrays = pack(idf, weights, bias)
    assert arrays["codes"].shape[0] == int((weights != 0).any(axis=1).sum())
    got_idf, got, got_bias = unpack(arrays)
    assert np.array_equal(got == 0, weights == 0)
    assert np.array_equal(np.sign(got), np.sign(weights))
    # Within half a step of the column's logarithmic scale, from its lowest level up.
    large = np.abs(weights) >= np.exp(arrays["scale"][:, 0])
    relative = np.abs(got - weights) / np.maximum(np.abs(weights), 1e-30)
    half_step = np.exp(arrays["scale"][:, 1] / 2) - 1
    assert ((relative <= half_step * 1.001) | ~large).all()
    assert np.allclose(got_idf, idf, rtol=1e-3) and np.array_equal(got_bias, bias)


def test_prune_zeroes_features_seen_too_rarely() -> None:
    weights = np.ones((4, 2), dtype=np.float32)
    seen = np.array([0, 1, 2, 5])
    pruned = prune(weights, seen, 2)
    assert pruned[:, 0].tolist() == [0, 0, 1, 1]
    assert prune(weights, seen, 1) is weights
