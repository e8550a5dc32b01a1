#!/usr/bin/env node
// Entry point of the `dag` command: registers tsx so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

register();
const { runProcess } = await import('../src/cli/main.ts');
await runProcess();
