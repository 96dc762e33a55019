/**
 * Neural models on TensorFlow.js: backend selection (wasm by default, with kernel patches), the shared NeuralModel
 * base and the MLP, LSTM, LSTM+Transformer, xLSTM-TS and NOTEARS-style DAG models. Import from here.
 *
 * @module
 */

export * from "./backend.ts";
export { installWasmPatches } from "./wasm_patches.ts";
export * from "./neural_model.ts";
export * from "./mlp.ts";
export * from "./lstm.ts";
export * from "./lstm_transformer.ts";
export * from "./xlstm.ts";
export * from "./notears.ts";
