/**
 * iscsi-initiator: SendTargets discovery, CHAP login and SCSI commands from
 * a non-blocking C core. Importing this module does not load the native
 * addon; the first discovery/session does.
 */
export { discoverSendTargets, flattenDiscovery } from './discovery';
export type { DiscoveryOptions, DiscoveredTarget } from './discovery';
export { openSession, Session } from './session';
export type { BlockIoOptions, ReadStreamOptions, WriteStreamOptions } from './block-io';
export type {
  ModeSenseRequest,
  ModeSenseResult,
  VpdOptions,
  BlockDeviceInfo,
  UnmapRange,
  WriteSameOptions,
  BlockLimits,
  LogicalBlockProvisioning,
  ModePage,
  BlockDescriptor,
  CachingPage,
  PageControl,
} from './block-commands';
export {
  parseModeSense10,
  parseSupportedVpdPages,
  parseBlockLimitsVpd,
  parseLogicalBlockProvisioningVpd,
  ProvisioningType,
} from './block-commands';
export type { ReconnectInfo } from './session';
export type {
  AsyncEventInfo,
  AsyncEventName,
  AsyncAction,
  ScsiEventInfo,
  LogoutRequestInfo,
  DropRequestInfo,
  RenegotiateRequestInfo,
} from './async-events';
export type { SessionOptions, NodeAddress, ScsiOptions, ScsiResult, NegotiatedParameters, Inquiry, Capacity } from './session';
export { IscsiError, ErrorCodes } from './errors';
export type { OperationOptions, AuthOptions, ChapAlgorithm, DigestOption } from './options';
export { parsePortal, formatPortal, DEFAULT_PORT } from './portal';
export type { PortalInput, ParsedPortal } from './portal';
export { defaultInitiatorName, iscsiNameProblem } from './initiator-name';
export type { Logger, LogFields } from './log';
export {
  ScsiStatus,
  SenseKey,
  decodeLun,
  encodeLun,
  parseSense,
  parseInquiry,
  parseReadCapacity10,
  parseReadCapacity16,
  parseReportLuns,
  scsiStatusName,
  senseKeyName,
  deviceTypeName,
} from './scsi';
export type { SenseData } from './scsi';
export {
  discoverFirmware,
  getFirmwareNetworkConfig,
  getFirmwareInitiatorName,
  readFirmwareTable,
  FirmwareErrorCodes,
} from './firmware';
export type {
  FirmwareAuth,
  FirmwareNetworkConfig,
  FirmwareNode,
  FirmwareOptions,
  ReadFirmwareTableOptions,
  IbftTable,
  IbftInitiator,
  IbftNic,
  IbftTarget,
} from './firmware';

// Kernel sessions through iscsid, the open-iscsi node database, initiator
// name and dracut arguments (installer helpers).
export { login, logout, sessions, iscsidInfo } from './kernel/login';
export type { LoginOptions, LogoutOptions } from './kernel/login';
export type { IscsidInfo } from './kernel/iscsid';
export { nodes, findDbRoot } from './kernel/node-db';
export { saveFirmwareNodes } from './kernel/firmware-nodes';
export type { SaveFirmwareNodesOptions } from './kernel/firmware-nodes';
export type { NodeRecord } from './kernel/node-record';
export { getInitiatorName, setInitiatorName, generateInitiatorName } from './initiator-name';
export { dracutArgs } from './kernel/dracut';
export type { DracutArgsOptions, DracutNetwork, DracutInterfaceConfig } from './kernel/dracut';
export type { Node, Chap, KernelSession, KernelDisk, KernelOptions } from './kernel/types';

import { loadBinding } from './native';

/** Versions/implementation of the loaded native core (loads the addon). */
export function nativeInfo(): { coreVersion: string; crc32c: string; errorCodes: string[] } {
  const b = loadBinding();
  return { coreVersion: b.coreVersion(), crc32c: b.crc32cImplementation(), errorCodes: b.errorCodes() };
}
