import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerRelationship } from './relationship.js';

export function register(program: Command, ctx: CliContext): void {
  registerRelationship(program, ctx, 'sponsors');
}
