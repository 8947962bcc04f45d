// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {FilCbor} from "../../src/lib/FilCbor.sol";
import {TestCbor} from "../utils/TestCbor.sol";

/// @dev Fixed address of the stateful actor simulator (the precompile mock is delegatecalled, so it
///      cannot keep state itself).
address constant MOCK_ACTORS = address(uint160(uint256(keccak256("filfil.test.mock-actors"))));
address constant CALL_ACTOR_ID_PRECOMPILE = 0xfe00000000000000000000000000000000000005;

/// @notice Stand-in for the FEVM call_actor_id precompile (0xfe00..05), etched with vm.etch.
/// @dev Validates the input as builtin-actors' call_actor_shared does (delegatecall only, ABI layout,
///      flags in {0, 1}, codec 0x71 with params or 0 without) and forwards to MockActors.
contract CallActorIdMock {
    error NotDelegateCall();
    error InvalidInput();

    fallback(bytes calldata input) external payable returns (bytes memory) {
        // a real call_actor precompile fails with CallForbidden unless DELEGATECALLed
        if (address(this) == CALL_ACTOR_ID_PRECOMPILE) revert NotDelegateCall();
        (uint64 method, uint256 value, uint64 flags, uint64 codec, bytes memory params, uint64 actorId) =
            abi.decode(input, (uint64, uint256, uint64, uint64, bytes, uint64));
        if (flags > 1) revert InvalidInput();
        if (!(codec == 0x71 || (codec == 0 && params.length == 0))) revert InvalidInput();
        bytes memory call = abi.encodeCall(MockActors.invoke, (actorId, method, flags, codec, params));
        bool ok;
        bytes memory ret;
        if (flags == 1) {
            if (value != 0) revert InvalidInput();
            (ok, ret) = MOCK_ACTORS.staticcall(call);
        } else {
            (ok, ret) = MOCK_ACTORS.call{value: value}(call);
        }
        if (!ok) revert InvalidInput();
        return ret; // already abi.encode(int256 exit, uint64 codec, bytes data)
    }
}

address constant LOOKUP_DELEGATED_ADDRESS_PRECOMPILE = 0xfE00000000000000000000000000000000000002;

/// @notice Stand-in for the lookup_delegated_address precompile (0xfe00..02): one ABI word in (actor
///         ID, must fit u64), the f4 address bytes out, or nothing.
contract LookupDelegatedAddressMock {
    error InvalidInput();

    mapping(uint64 => bytes) public delegated;

    function setDelegated(uint64 id, bytes calldata addr) external {
        delegated[id] = addr;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        uint256 id = abi.decode(input, (uint256));
        if (id > type(uint64).max) revert InvalidInput();
        return delegated[uint64(id)];
    }
}

/// @notice Simulates the storage market actor (f05) and miner actors, checking params as they would.
contract MockActors {
    int256 internal constant USR_ILLEGAL_ARGUMENT = 16;
    int256 internal constant USR_NOT_FOUND = 17;
    int256 internal constant USR_UNHANDLED_MESSAGE = 22;
    int256 internal constant SYS_INVALID_RECEIVER = 6;

    uint64 internal constant ADD_BALANCE = 822473126;
    uint64 internal constant GET_DEAL_ACTIVATION = 2567238399;
    uint64 internal constant IS_CONTROLLING_ADDRESS = 348244887;

    struct Activation {
        bool exists;
        int256 exitCode;
        int64 activated;
        int64 terminated;
    }

    mapping(uint64 => bool) public isMiner;
    mapping(uint64 => mapping(bytes32 => bool)) public controlling;
    mapping(bytes32 => uint256) public escrow;
    mapping(uint64 => Activation) public activations;
    /// @dev Fault injection: AddBalance fails with this exit code; raw return overrides.
    int256 public addBalanceExitCode;
    mapping(uint64 => bytes) public rawActivationReturn;
    mapping(uint64 => bytes) public rawControllingReturn;

    function setAddBalanceExitCode(int256 exitCode) external {
        addBalanceExitCode = exitCode;
    }

    function setRawActivationReturn(uint64 dealId, bytes calldata ret) external {
        rawActivationReturn[dealId] = ret;
    }

    function setRawControllingReturn(uint64 minerId, bytes calldata ret) external {
        rawControllingReturn[minerId] = ret;
    }

    function setMiner(uint64 minerId, address controller) external {
        isMiner[minerId] = true;
        controlling[minerId][keccak256(FilCbor.filAddress(controller))] = true;
    }

    function setActivation(uint64 dealId, int256 exitCode, int64 activated, int64 terminated) external {
        activations[dealId] = Activation(true, exitCode, activated, terminated);
    }

    function escrowOf(address a) external view returns (uint256) {
        return escrow[keccak256(FilCbor.filAddress(a))];
    }

    function invoke(uint64 actorId, uint64 method, uint64 flags, uint64 codec, bytes calldata params)
        external
        payable
        returns (int256, uint64, bytes memory)
    {
        if (actorId == 5) return _market(method, flags, codec, params);
        if (isMiner[actorId]) return _miner(actorId, method, codec, params);
        return (SYS_INVALID_RECEIVER, 0, "");
    }

    function _market(uint64 method, uint64 flags, uint64 codec, bytes calldata params)
        internal
        returns (int256, uint64, bytes memory)
    {
        if (method == ADD_BALANCE) {
            // AddBalanceParams: transparent Address; any address works, but FilFil must fund itself
            if (flags != 0 || codec != 0x71) return (USR_ILLEGAL_ARGUMENT, 0, "");
            bytes memory expected = FilCbor.encodeBytes(FilCbor.filAddress(msg.sender));
            if (keccak256(params) != keccak256(expected)) return (USR_ILLEGAL_ARGUMENT, 0, "");
            if (addBalanceExitCode != 0) return (addBalanceExitCode, 0, "");
            escrow[keccak256(FilCbor.filAddress(msg.sender))] += msg.value;
            return (0, 0, "");
        }
        if (method == GET_DEAL_ACTIVATION) {
            if (codec != 0x71) return (USR_ILLEGAL_ARGUMENT, 0, "");
            FilCbor.Reader memory r = FilCbor.reader(params);
            uint64 dealId = FilCbor.readUint(r);
            if (r.err || r.pos != r.end) return (USR_ILLEGAL_ARGUMENT, 0, "");
            if (rawActivationReturn[dealId].length != 0) return (0, 0x51, rawActivationReturn[dealId]);
            Activation memory a = activations[dealId];
            if (!a.exists) return (USR_NOT_FOUND, 0, "");
            if (a.exitCode != 0) return (a.exitCode, 0, "");
            return
                (0, 0x51, abi.encodePacked(hex"82", TestCbor.int64Item(a.activated), TestCbor.int64Item(a.terminated)));
        }
        return (USR_UNHANDLED_MESSAGE, 0, "");
    }

    function _miner(uint64 minerId, uint64 method, uint64 codec, bytes calldata params)
        internal
        view
        returns (int256, uint64, bytes memory)
    {
        if (method != IS_CONTROLLING_ADDRESS) return (USR_UNHANDLED_MESSAGE, 0, "");
        if (codec != 0x71) return (USR_ILLEGAL_ARGUMENT, 0, "");
        // IsControllingAddressParam: transparent Address (CBOR byte string)
        FilCbor.Reader memory r = FilCbor.reader(params);
        (uint256 start, uint256 len) = FilCbor.readBytesRange(r);
        if (r.err || r.pos != r.end || len == 0) return (USR_ILLEGAL_ARGUMENT, 0, "");
        if (rawControllingReturn[minerId].length != 0) return (0, 0x51, rawControllingReturn[minerId]);
        bytes memory addr = params[start:start + len];
        bool yes = controlling[minerId][keccak256(addr)];
        return (0, 0x51, yes ? bytes(hex"f5") : bytes(hex"f4"));
    }
}
