// Base models each backend can tune. The emulator runs only its local text-router family; Vertex
// AI's supervised-tuning models are listed from its documentation (dated; Vertex has no API that
// lists tunable base models). A model missing here can still be named: Vertex decides.
import type { TuningType } from './types.js';

export interface BaseModel {
  id: string;
  backend: 'emulator' | 'vertex';
  tuning_types: TuningType[];
  description: string;
}

export const BASE_MODELS_AS_OF = '2026-11-01';

export const BASE_MODELS: BaseModel[] = [
  {
    id: 'local/text-router',
    backend: 'emulator',
    tuning_types: ['supervised', 'peft', 'distillation', 'rlhf'],
    description: 'Hashed n-gram features -> 64-unit layer -> softmax over completions seen in training (CPU, seconds)',
  },
  {
    id: 'local/text-router-large',
    backend: 'emulator',
    tuning_types: ['supervised', 'peft', 'distillation', 'rlhf'],
    description: 'As local/text-router with a 128-unit layer',
  },
  {
    id: 'gemini-2.5-flash',
    backend: 'vertex',
    tuning_types: ['supervised', 'peft'],
    description: 'Gemini 2.5 Flash (supervised tuning, adapter sizes 1-16)',
  },
  {
    id: 'gemini-2.5-flash-lite',
    backend: 'vertex',
    tuning_types: ['supervised', 'peft'],
    description: 'Gemini 2.5 Flash-Lite',
  },
  { id: 'gemini-2.5-pro', backend: 'vertex', tuning_types: ['supervised', 'peft'], description: 'Gemini 2.5 Pro' },
  {
    id: 'gemini-2.0-flash-001',
    backend: 'vertex',
    tuning_types: ['supervised', 'peft', 'distillation'],
    description: 'Gemini 2.0 Flash',
  },
  {
    id: 'gemini-2.0-flash-lite-001',
    backend: 'vertex',
    tuning_types: ['supervised', 'peft'],
    description: 'Gemini 2.0 Flash-Lite',
  },
];
