/**
 * @module ml/onnx-proto
 * The ONNX protobuf schema (from `onnx-proto`, ONNX 1.10) and small builders for the parts Keel
 * writes: attributes, tensors, value infos. protobufjs silently drops keys it does not know, so
 * every field here is spelled as the schema's camelCase and the tests decode what is encoded.
 */

import type { onnx as OnnxTypes } from 'onnx-proto';
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type ModelProto = OnnxTypes.IModelProto;
export type NodeProto = OnnxTypes.INodeProto;
export type TensorProto = OnnxTypes.ITensorProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;
export type AttributeProto = OnnxTypes.IAttributeProto;

/** TensorProto element types Keel names. */
export const ELEM_TYPES: Record<number, string> = {
  1: 'float',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'double',
  12: 'uint32',
  13: 'uint64',
};
export const FLOAT = 1;
export const INT64 = 7;

const AttrType = onnx.AttributeProto.AttributeType;

/** An attribute from a JS value: numbers are floats unless `ints` says otherwise. */
export function attr(
  name: string,
  value: string | number | string[] | number[],
  kind: 'float' | 'int' = 'float',
): AttributeProto {
  if (typeof value === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return kind === 'int' ? { name, type: AttrType.INT, i: value } : { name, type: AttrType.FLOAT, f: value };
  }
  if (value.length > 0 && typeof value[0] === 'string') {
    return {
      name,
      type: AttrType.STRINGS,
      strings: (value as string[]).map((v) => new TextEncoder().encode(v)),
    };
  }
  return kind === 'int'
    ? { name, type: AttrType.INTS, ints: value as number[] }
    : { name, type: AttrType.FLOATS, floats: value as number[] };
}

/** A float tensor initializer. */
export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  return { name, dataType: FLOAT, dims, floatData: Array.from(values) };
}

/** An int64 tensor initializer. */
export function int64Tensor(name: string, dims: number[], values: number[]): TensorProto {
  return { name, dataType: INT64, dims, int64Data: values };
}

/** A tensor value info; a string dimension is symbolic (e.g. `N` for the batch). */
export function tensorInfo(name: string, elemType: number, dims: Array<number | string>): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Serialises a model. */
export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
