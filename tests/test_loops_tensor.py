"""The loops backend's tensor kinds (implementations/pure_python/tensor.py): what each holds, that
FlatTensor and RowsTensor answer ``shape``, ``data``, ``rows()`` and equality alike, that each is
the only copy of its values (the in-place SGD update relies on it), and that the plain lists the
dense layers pass each other have a shape and values as well; and how the trainer gets a gradient
back as a NumPy array of its parameter's shape."""

from __future__ import annotations

from array import array

import numpy as np
import pytest

from implementations.pure_python.backend import gradient_to_numpy
from implementations.pure_python.tensor import (FlatTensor, RowsTensor, flat_values, from_numpy, rows_tensor, shape_of,
                                                to_numpy, zeros_like)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 1, 3, 2)])
def test_numpy_round_trip_and_the_kind_each_rank_gets(shape):
    values = np.random.default_rng(len(shape)).standard_normal(shape)
    tensor = from_numpy(values)
    assert type(tensor) is (RowsTensor if len(shape) <= 2 else FlatTensor)
    assert tensor.shape == shape
    np.testing.assert_array_equal(to_numpy(tensor), values)
    assert list(tensor.data) == values.ravel().tolist()  # row-major
    width = shape[-1]
    assert list(tensor.rows()) == values.reshape(-1, width).tolist()


@pytest.mark.parametrize("shape", [(5,), (3, 4), (1, 4)])
def test_plain_lists_have_the_shape_and_values_of_their_nesting(shape):
    """A plain list of floats is 1-D and a plain list of rows 2-D (what the dense layers return);
    every kind answers shape_of, flat_values and to_numpy."""
    values = np.random.default_rng(sum(shape)).standard_normal(shape)
    plain = values.tolist()
    for tensor in (plain, from_numpy(values)):
        assert shape_of(tensor) == shape
        assert list(flat_values(tensor)) == values.ravel().tolist()
        np.testing.assert_array_equal(to_numpy(tensor), values)
    flat = FlatTensor(array("d", values.ravel().tolist()), shape)
    assert shape_of(flat) == shape and flat_values(flat) is flat.data


def test_both_kinds_of_one_matrix_are_equal_and_a_transposed_shape_is_not():
    values = np.arange(6.0).reshape(2, 3)
    rows = from_numpy(values)
    flat = FlatTensor(array("d", values.ravel().tolist()), (2, 3))
    assert rows == flat and flat == rows and not rows != flat
    assert rows != from_numpy(values.reshape(3, 2)) and flat != FlatTensor(array("d", range(6)), (3, 2))
    assert rows != values.tolist()  # a plain list of the same rows is not a tensor of a shape


def test_a_rows_tensor_is_the_only_copy_of_its_values():
    tensor = from_numpy(np.ones((2, 2)))
    assert tensor.rows() is tensor
    copy = tensor.data
    copy[0] = 5.0
    assert tensor[0][0] == 1.0
    tensor[1][1] = 7.0  # what the SGD update does, in place
    np.testing.assert_array_equal(to_numpy(tensor), [[1.0, 1.0], [1.0, 7.0]])


def test_a_flat_tensors_rows_are_a_copy():
    tensor = from_numpy(np.ones((2, 2, 2)))
    rows = tensor.rows()
    rows[0][0] = 5.0
    assert tensor.data[0] == 1.0


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 2, 3)])
def test_zeros_like_keeps_the_kind_and_shape_in_new_storage(shape):
    source = from_numpy(np.full(shape, 3.0))
    zeros = zeros_like(source)
    assert type(zeros) is type(source) and zeros.shape == source.shape
    np.testing.assert_array_equal(to_numpy(zeros), np.zeros(shape))
    if zeros.is_rows:
        zeros[0][0] = 1.0
    else:
        zeros.data[0] = 1.0
    assert to_numpy(zeros).sum() == 1.0  # one number changed: no row shared with another (a velocity)
    if zeros.is_rows:
        assert len({id(row) for row in zeros}) == len(zeros) and {id(r) for r in zeros}.isdisjoint(map(id, source))
    np.testing.assert_array_equal(to_numpy(source), np.full(shape, 3.0))


def test_rows_tensor_shares_the_rows_it_is_given():
    rows = [[1.0, 2.0], [3.0, 4.0]]
    tensor = rows_tensor(rows, (2, 2))
    assert tensor[0] is rows[0] and tensor.shape == (2, 2) and repr(tensor) == "RowsTensor(shape=(2, 2))"


def test_a_one_row_gradient_of_a_1d_parameter_comes_back_1d_and_a_misshapen_one_as_it_is():
    """The trainer converts loops' gradients with ``backend.gradient_to_numpy``: a bias is held as
    one row and so is its gradient, which must come back of the bias's shape; any other mismatch
    must come back as it is, so that the trainer's shape checks still see it."""
    bias = from_numpy(np.zeros(3))
    weight = from_numpy(np.zeros((2, 3)))
    one_row = gradient_to_numpy([[1.0, 2.0, 3.0]], bias)
    assert one_row.shape == (3,) and one_row.tolist() == [1.0, 2.0, 3.0]
    rows = gradient_to_numpy([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], weight)
    assert rows.shape == (2, 3) and rows.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    # six numbers, as the weight has, but as three rows of two, or as one row: not reshaped
    assert gradient_to_numpy([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], weight).shape == (3, 2)
    assert gradient_to_numpy([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], weight).shape == (1, 6)
    assert gradient_to_numpy([[1.0, 2.0], [3.0, 4.0]], from_numpy(np.zeros(4))).shape == (2, 2)
