// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {FilFil} from "../../src/FilFil.sol";
import {IFilFil} from "../../src/interfaces/IFilFil.sol";
import {
    CallActorIdMock,
    LookupDelegatedAddressMock,
    MockActors,
    MOCK_ACTORS,
    CALL_ACTOR_ID_PRECOMPILE,
    LOOKUP_DELEGATED_ADDRESS_PRECOMPILE
} from "../mocks/FvmMocks.sol";
import {TestCbor} from "./TestCbor.sol";

abstract contract FilFilTestBase is Test {
    address internal constant MARKET = 0xff00000000000000000000000000000000000005;
    uint64 internal constant AUTHENTICATE_MESSAGE = 2643134072;
    uint64 internal constant MARKET_NOTIFY_DEAL = 4186741094;
    uint64 internal constant SECTOR_CONTENT_CHANGED = 2034386435;

    // schedule: slot k at 1000 + 100k, window [E_k + 20, E_k + 70)
    uint64 internal constant START = 1000;
    uint64 internal constant INTERVAL = 100;
    uint64 internal constant READY = 20;
    uint64 internal constant CLAIM = 50;
    uint256 internal constant COLLATERAL = 10 ether;
    uint256 internal constant REWARD = 1 ether;

    FilFil internal ff;
    MockActors internal actors;
    address internal op1 = makeAddr("op1");
    address internal op2 = makeAddr("op2");
    address internal op3 = makeAddr("op3");

    function setUp() public virtual {
        vm.etch(CALL_ACTOR_ID_PRECOMPILE, address(new CallActorIdMock()).code);
        vm.etch(MOCK_ACTORS, address(new MockActors()).code);
        actors = MockActors(MOCK_ACTORS);
        vm.etch(LOOKUP_DELEGATED_ADDRESS_PRECOMPILE, address(new LookupDelegatedAddressMock()).code);
        address[] memory ops = new address[](3);
        (ops[0], ops[1], ops[2]) = (op1, op2, op3);
        ff = new FilFil(_schedule(), _defaultParams(), ops, 2);
        vm.roll(1);
    }

    function _schedule() internal pure returns (IFilFil.Schedule memory) {
        return IFilFil.Schedule({startEpoch: START, snapshotInterval: INTERVAL, readyDelay: READY, claimWindow: CLAIM});
    }

    function _defaultParams() internal pure returns (IFilFil.Params memory) {
        return IFilFil.Params({
            replication: 2,
            maxMisses: 3,
            maxProviders: 100,
            collateral: COLLATERAL,
            rewardPerSeat: REWARD,
            policy: IFilFil.DealPolicy({
                minDuration: 518_400,
                maxDuration: 3_680_640,
                maxStartDelay: 100_000,
                maxPricePerEpochPerGiB: 1e12,
                minProviderCollateral: 1
            })
        });
    }

    function _owner(uint64 minerId) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("owner", minerId)))));
    }

    function _payout(uint64 minerId) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("payout", minerId)))));
    }

    function _register(uint64 minerId) internal {
        actors.setMiner(minerId, _owner(minerId));
        vm.deal(_owner(minerId), COLLATERAL);
        vm.prank(_owner(minerId));
        ff.register{value: COLLATERAL}(minerId, _payout(minerId));
    }

    function _epoch(uint64 slot) internal pure returns (uint256) {
        return START + uint256(slot) * INTERVAL;
    }

    function _windowStart(uint64 slot) internal pure returns (uint256) {
        return _epoch(slot) + READY;
    }

    function _windowEnd(uint64 slot) internal pure returns (uint256) {
        return _epoch(slot) + READY + CLAIM;
    }

    function _digest(uint64 slot, uint256 i) internal pure returns (bytes32) {
        return keccak256(abi.encode("piece", slot, i));
    }

    /// @dev Stage `count` pieces of 2048 bytes for `slot` with two operator approvals.
    function _stage(uint64 slot, uint256 count) internal returns (bytes32[] memory pieces, uint64[] memory sizes) {
        pieces = new bytes32[](count);
        sizes = new uint64[](count);
        for (uint256 i; i < count; ++i) {
            pieces[i] = _digest(slot, i);
            sizes[i] = 2048;
        }
        if (block.number < _epoch(slot)) vm.roll(_epoch(slot));
        vm.prank(op1);
        ff.approveStage(slot, pieces, sizes);
        vm.prank(op2);
        ff.approveStage(slot, pieces, sizes);
    }

    function _deal(bytes32 piece, uint64 provider) internal view returns (TestCbor.DealFields memory d) {
        d = TestCbor.DealFields({
            piece: piece,
            pieceSize: 2048,
            verified: false,
            clientId: 1001,
            providerId: provider,
            label: "snapshot",
            startEpoch: int64(uint64(block.number + 100)),
            endEpoch: int64(uint64(block.number + 100 + 600_000)),
            price: 1,
            providerCollateral: 1,
            clientCollateral: 0
        });
    }

    function _authenticate(bytes memory proposalBytes) internal returns (bool ok, bytes memory ret) {
        bytes memory cbor = TestCbor.authParams(hex"01", proposalBytes);
        vm.prank(MARKET);
        // staticcall: any SSTORE or LOG in AuthenticateMessage makes the call fail
        (ok, ret) =
            address(ff).staticcall(abi.encodeCall(ff.handle_filecoin_method, (AUTHENTICATE_MESSAGE, 0x51, cbor)));
    }

    function _notify(bytes memory proposalBytes, uint64 dealId) internal {
        vm.prank(MARKET);
        ff.handle_filecoin_method(MARKET_NOTIFY_DEAL, 0x51, TestCbor.notifyParams(proposalBytes, dealId));
    }

    function _masked(uint64 id) internal pure returns (address) {
        return address(uint160(0xff) << 152 | uint160(id));
    }

    /// @dev Seat index of `minerId` in `slot`, or type(uint256).max.
    function _seatIndex(uint64 slot, uint64 minerId) internal view returns (uint256) {
        uint64[] memory seats = ff.seatsOf(slot);
        for (uint256 i; i < seats.length; ++i) {
            if (seats[i] == minerId) return i;
        }
        return type(uint256).max;
    }
}
