// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title FVMActor
/// @notice Calls built-in actors through the FEVM `call_actor_id` precompile.
/// @dev Checked against filecoin-project/builtin-actors actors/evm/src/interpreter/precompiles
///      (mod.rs: 0xfe00..01 resolve_address, ..02 lookup_delegated_address, ..03 call_actor (by
///      address), ..04 disabled, ..05 call_actor_id; fvm.rs: call_actor_shared). The precompile must be
///      invoked with DELEGATECALL (anything else fails with CallForbidden). Input is Solidity-ABI
///      encoded without selector: (uint64 method, uint256 value, uint64 flags, uint64 codec,
///      bytes params, uint64 actorId); flags 1 = read-only; codec 0x71 (DAG-CBOR) or 0 with empty
///      params. Output is ABI encoded (int256 exitCode, uint64 codec, bytes returnData): negative
///      exit codes are system errors, positive ones actor errors, 0 success.
library FVMActor {
    address internal constant CALL_ACTOR_ID = 0xfe00000000000000000000000000000000000005;
    /// @notice lookup_delegated_address: input one ABI word (actor ID), output the actor's f4
    ///         address bytes, or nothing if it has none (fvm.rs lookup_delegated_address).
    address internal constant LOOKUP_DELEGATED_ADDRESS = 0xfE00000000000000000000000000000000000002;

    /// @notice The storage market actor f05, as an actor ID and as its masked EVM address.
    uint64 internal constant MARKET_ACTOR_ID = 5;
    address internal constant MARKET_ACTOR = 0xff00000000000000000000000000000000000005;

    uint64 internal constant FLAG_NONE = 0;
    uint64 internal constant FLAG_READ_ONLY = 1;
    uint64 internal constant CODEC_NONE = 0;
    uint64 internal constant CODEC_CBOR = 0x51;
    uint64 internal constant CODEC_DAG_CBOR = 0x71;

    /// @notice FRC-42 method numbers (exported methods of the built-in actors).
    uint64 internal constant MARKET_ADD_BALANCE = 822473126;
    uint64 internal constant MARKET_GET_DEAL_ACTIVATION = 2567238399;
    uint64 internal constant MINER_IS_CONTROLLING_ADDRESS = 348244887;
    /// @notice Methods FilFil implements (called by the market / miner actors).
    uint64 internal constant AUTHENTICATE_MESSAGE = 2643134072;
    uint64 internal constant MARKET_NOTIFY_DEAL = 4186741094;
    uint64 internal constant SECTOR_CONTENT_CHANGED = 2034386435;

    /// @notice Market exit code when a deal has been removed from state (builtin-actors market
    ///         EX_DEAL_EXPIRED = FIRST_ACTOR_SPECIFIC_EXIT_CODE = 32).
    int256 internal constant EX_DEAL_EXPIRED = 32;

    error PrecompileCallFailed();

    /// @notice Call actor `actorId` with `method`, sending `value` attoFIL.
    function call(uint64 actorId, uint64 method, uint256 value, uint64 flags, bytes memory params)
        internal
        returns (int256 exitCode, uint64 codec, bytes memory ret)
    {
        (bool ok, bytes memory out) = CALL_ACTOR_ID.delegatecall(_input(actorId, method, value, flags, params));
        if (!ok || out.length < 96) revert PrecompileCallFailed();
        (exitCode, codec, ret) = abi.decode(out, (int256, uint64, bytes));
    }

    /// @notice Whether actor `actorId` has a delegated (f4) address. EVM contracts, EthAccounts and
    ///         placeholders have one; miner actors never do.
    function hasDelegatedAddress(uint64 actorId) internal view returns (bool) {
        (bool ok, bytes memory out) = LOOKUP_DELEGATED_ADDRESS.staticcall(abi.encode(uint256(actorId)));
        return ok && out.length != 0;
    }

    function _input(uint64 actorId, uint64 method, uint256 value, uint64 flags, bytes memory params)
        private
        pure
        returns (bytes memory)
    {
        uint64 paramsCodec = params.length == 0 ? CODEC_NONE : CODEC_DAG_CBOR;
        return abi.encode(method, value, flags, paramsCodec, params, actorId);
    }
}
