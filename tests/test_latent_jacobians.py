"""latent_jacobians, the forward-mode Jacobians behind the prior grid's step and the decoder directions, against
closed forms computed by hand: rows, outputs and latent dimensions of unequal sizes, and an output that does not
depend on z."""
import numpy as np
import tensorflow as tf

from betavae.model.inference import latent_jacobians


def test_each_rows_jacobian_is_the_closed_form_of_its_own_row():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(5, 3)).astype(np.float32)  # 5 rows, 3 latent dimensions
    A = rng.normal(size=(3, 4)).astype(np.float32)  # 4 outputs of the first function

    def function(rows):
        return [tf.matmul(rows, A), tf.stack([tf.sin(rows[:, 0]) * rows[:, 1], rows[:, 2] ** 2], axis=1),
                tf.ones([5, 2])]

    values, (linear, nonlinear, constant) = latent_jacobians(function, z)
    np.testing.assert_allclose(values[0], z @ A, rtol=1e-6)
    assert linear.shape == (5, 4, 3) and nonlinear.shape == (5, 2, 3) and constant.shape == (5, 2, 3)
    np.testing.assert_allclose(linear, np.broadcast_to(A.T, (5, 4, 3)), rtol=1e-6)
    expected = np.zeros((5, 2, 3))
    expected[:, 0, 0] = np.cos(z[:, 0]) * z[:, 1]  # d/dz0 of sin(z0) z1
    expected[:, 0, 1] = np.sin(z[:, 0])  # d/dz1
    expected[:, 1, 2] = 2 * z[:, 2]  # d/dz2 of z2^2
    np.testing.assert_allclose(nonlinear, expected, rtol=1e-5, atol=1e-6)
    assert not constant.any()
