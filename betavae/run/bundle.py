"""Whether a TensorFlow checkpoint's files are complete, read without TensorFlow (the sweep's driver never
imports it, and training decides what is done before paying for the import).

A checkpoint is an .index file (a LevelDB-format table: one entry per tensor naming its shard, byte offset
and size) and its .data-NNNNN-of-NNNNN shards. The check parses the index and confirms that every tensor's
bytes lie inside its shard: it catches what a kill, a full disk or a partial copy leaves (an empty or cut
index, a missing or truncated shard) at the cost of reading the index and one stat per shard. It does not
read the tensors, so flipped bits inside a shard pass; restoring checks their CRC and falls back from those.
"""
import os
import struct

from betavae.words import counted

TABLE_MAGIC = 0xDB4775248B80FB57  # the last 8 bytes of every LevelDB table (little-endian)
FOOTER_BYTES = 48  # two block handles padded to 40 bytes, then the magic
BLOCK_TRAILER_BYTES = 5  # a compression-type byte and a CRC after each block
# Field numbers in tensor_bundle.proto: BundleHeaderProto.num_shards, BundleEntryProto.shard_id/offset/size.
NUM_SHARDS, SHARD_ID, OFFSET, SIZE = 1, 3, 4, 5


class Damaged(ValueError):
    """The index does not parse as TensorFlow writes it."""


def checkpoint_problem(prefix):
    """Why the checkpoint at `prefix` (e.g. run/ckpt-4) cannot be restored, as a short phrase, or None when
    its index parses and every tensor's bytes are present in its shard."""
    try:
        with open(prefix + ".index", "rb") as handle:
            index = handle.read()
    except OSError as error:
        return f"cannot read its index ({error.strerror})"
    try:
        entries = dict(_table_entries(index))
        header = _fields(entries.pop(b""))
    except (Damaged, KeyError, IndexError, struct.error):
        return f"its index is damaged ({counted(len(index), 'byte')})"
    shards = header.get(NUM_SHARDS, 1)
    sizes = {}
    for name, value in entries.items():
        fields = _fields(value)
        shard = fields.get(SHARD_ID, 0)
        path = f"{prefix}.data-{shard:05d}-of-{shards:05d}"
        if shard not in sizes:
            sizes[shard] = os.path.getsize(path) if os.path.isfile(path) else -1
        if sizes[shard] < 0:
            return f"its data file {os.path.basename(path)} is missing"
        if fields.get(OFFSET, 0) + fields.get(SIZE, 0) > sizes[shard]:
            return (f"its data file {os.path.basename(path)} is truncated ({counted(sizes[shard], 'byte')}; tensor "
                    f"{name.decode(errors='replace')} needs {fields.get(OFFSET, 0) + fields.get(SIZE, 0)})")
    return None


def _table_entries(table):
    """(key, value) of every entry of a LevelDB table held in bytes: the footer names the index block,
    whose entries name the data blocks."""
    if len(table) < FOOTER_BYTES or struct.unpack("<Q", table[-8:])[0] != TABLE_MAGIC:
        raise Damaged("no table footer")
    footer = table[-FOOTER_BYTES:-8]
    _, position = _varint(footer, 0)  # the metaindex block's offset and size: unused by TensorFlow
    _, position = _varint(footer, position)
    offset, position = _varint(footer, position)
    size, _ = _varint(footer, position)
    for _, handle in _block_entries(table, offset, size):
        data_offset, position = _varint(handle, 0)
        data_size, _ = _varint(handle, position)
        yield from _block_entries(table, data_offset, data_size)


def _block_entries(table, offset, size):
    """The (key, value) entries of one uncompressed block: prefix-compressed keys, then the restart array."""
    if offset + size + BLOCK_TRAILER_BYTES > len(table) - FOOTER_BYTES or size < 4:
        raise Damaged("block outside the table")
    if table[offset + size] != 0:
        raise Damaged("compressed block")  # TensorFlow writes its checkpoint index uncompressed
    block = table[offset:offset + size]
    restarts = struct.unpack("<I", block[-4:])[0]
    end, position, key = size - 4 - 4 * restarts, 0, b""
    if end < 0:
        raise Damaged("restart array larger than its block")
    while position < end:
        shared, position = _varint(block, position)
        unshared, position = _varint(block, position)
        length, position = _varint(block, position)
        if shared > len(key) or position + unshared + length > end:
            raise Damaged("entry outside its block")
        key = key[:shared] + block[position:position + unshared]
        position += unshared
        yield key, block[position:position + length]
        position += length


def _varint(data, position):
    """A base-128 varint of data at position: (value, position after it)."""
    value = shift = 0
    while True:
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position += 1
        if byte < 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise Damaged("varint longer than 64 bits")


def _fields(message):
    """The varint fields of a protocol-buffer message by field number (the only kind read here); fields of
    the other wire types are skipped."""
    fields, position = {}, 0
    while position < len(message):
        key, position = _varint(message, position)
        kind = key & 7
        if kind == 0:
            fields[key >> 3], position = _varint(message, position)
        elif kind == 1:
            position += 8
        elif kind == 5:
            position += 4
        elif kind == 2:
            length, position = _varint(message, position)
            position += length
        else:
            raise Damaged(f"protocol-buffer wire type {kind}")
    if position != len(message):
        raise Damaged("protocol-buffer message cut short")
    return fields
