/**
 * Firmware (iBFT / iscsi_boot) nodes into the open-iscsi node database, the
 * way `iscsiadm -m discovery -t fw -o new` records them: discovery type
 * "fw", tpgt 1, startup "onboot" (open-iscsi marks boot nodes so iscsid's
 * shutdown logic leaves the root disk alone), CHAP from the firmware.
 *
 * Firmware credentials are only ever written when the firmware has them:
 * an iBFT without CHAP never clears credentials an administrator stored for
 * the same node (the old blivet bug of saving empty firmware credentials
 * over working ones).
 */
import type { FirmwareNode } from '../firmware/types';
import { invalidArg } from '../errors';
import { Deadline } from '../options';
import { nodes } from './node-db';
import type { KernelOptions, Node } from './types';

export interface SaveFirmwareNodesOptions extends KernelOptions {
  /** node.startup for the saved records (default "onboot"). */
  startup?: 'onboot' | 'automatic' | 'manual';
}

/** Saves each firmware node; resolves with the Node keys to hand to login(). */
export async function saveFirmwareNodes(fwNodes: readonly FirmwareNode[], options: SaveFirmwareNodesOptions = {}): Promise<Node[]> {
  if (!Array.isArray(fwNodes)) throw invalidArg('nodes', fwNodes, 'must be the array discoverFirmware() returned');
  const startup = options.startup ?? 'onboot';
  if (!['onboot', 'automatic', 'manual'].includes(startup)) throw invalidArg('options.startup', startup, "must be 'onboot', 'automatic' or 'manual'");
  const out: Node[] = [];
  const deadline = new Deadline(options.timeoutMs ?? 30_000);
  for (const fw of fwNodes) {
    const node: Node = { target: fw.target, address: fw.address, port: fw.port, tpgt: fw.tpgt, iface: fw.iface };
    const record: Record<string, string> = {
      'node.discovery_type': 'fw',
      'node.startup': startup,
      'node.conn[0].startup': startup,
    };
    await nodes.save(node, {
      root: options.root,
      signal: options.signal,
      timeoutMs: deadline.remaining(),
      record,
      // Only a firmware that carries CHAP sets it; otherwise whatever is
      // stored stays (keepExistingAuth).
      ...(fw.auth ? { auth: { ...fw.auth } } : {}),
      keepExistingAuth: true,
    });
    out.push(node);
  }
  return out;
}
