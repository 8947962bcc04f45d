// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {FilFil} from "../../src/FilFil.sol";
import {IFilFil} from "../../src/interfaces/IFilFil.sol";
import {MockActors} from "../mocks/FvmMocks.sol";
import {FilFilTestBase} from "../utils/FilFilTestBase.sol";
import {TestCbor} from "../utils/TestCbor.sol";

/// @notice Drives FilFil with random but well-formed actions from SPs, operators, the market,
///         miner actors and anyone; keeps ghost accounting to check against.
contract Handler is Test {
    address internal constant MARKET = 0xff00000000000000000000000000000000000005;
    uint64 internal constant START = 1000;
    uint64 internal constant INTERVAL = 100;
    uint64 internal constant READY = 20;
    uint64 internal constant CLAIM = 50;
    uint256 internal constant COLLATERAL = 10 ether;
    uint256 internal constant POOL = 6;

    FilFil internal ff;
    MockActors internal actors;
    address internal op1;
    address internal op2;

    uint256 public ghostIn;
    uint256 public ghostOut;
    uint256 public ghostBadDeals;
    uint256 public ghostDeals;
    uint256 public ghostActivations;
    uint64 internal nextDealId = 1;
    address[] public accounts;

    constructor(FilFil ff_, MockActors actors_, address op1_, address op2_) {
        (ff, actors, op1, op2) = (ff_, actors_, op1_, op2_);
        for (uint64 i; i < POOL; ++i) {
            uint64 m = miner(i);
            actors.setMiner(m, owner(m));
            accounts.push(owner(m));
            accounts.push(payout(m));
        }
    }

    function miner(uint256 i) public pure returns (uint64) {
        return uint64(101 + (i % POOL));
    }

    function owner(uint64 m) public pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("inv-owner", m)))));
    }

    function payout(uint64 m) public pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("inv-payout", m)))));
    }

    function accountsLength() external view returns (uint256) {
        return accounts.length;
    }

    function startedSlots() public view returns (uint256) {
        if (block.number < START) return 0;
        return (block.number - START) / INTERVAL + 1;
    }

    function _window(uint64 slot) internal pure returns (uint256 ws, uint256 we) {
        ws = START + uint256(slot) * INTERVAL + READY;
        we = ws + CLAIM;
    }

    /// @dev Mostly a seat holder of `slot` (so deals get recorded), sometimes any SP of the pool.
    function _pickMiner(uint64 slot, uint256 seed) internal view returns (uint64) {
        uint64[] memory seats = ff.seatsOf(slot);
        uint64 m = seats[(seed >> 32) % seats.length];
        if ((seed >> 24) % 4 == 0 || m == 0) return miner(seed >> 8);
        return m;
    }

    function _recentSlot(uint256 seed) internal view returns (uint64) {
        uint256 started = startedSlots();
        if (started == 0) return 0;
        uint256 back = seed % 4 == 0 ? 1 : 0;
        return uint64(started - 1 > back ? started - 1 - back : 0);
    }

    /// @dev Every action also lets a few epochs pass, so runs cross several windows.
    modifier ticks(uint256 seed) {
        vm.roll(block.number + uint256(keccak256(abi.encode(seed, block.number))) % 12);
        _;
    }

    // ------------------------------------------------------------------ actions

    function roll(uint256 epochs) external {
        vm.roll(block.number + bound(epochs, 1, 100));
    }

    function register(uint256 seed) external ticks(seed) {
        uint64 m = miner(seed);
        IFilFil.ProviderInfo memory p = ff.provider(m);
        if (p.status == IFilFil.ProviderStatus.Registered) return;
        if (p.status != IFilFil.ProviderStatus.None && (p.stake != 0 || startedSlots() <= p.leaveSlot)) return;
        vm.deal(owner(m), COLLATERAL);
        vm.prank(owner(m));
        ff.register{value: COLLATERAL}(m, payout(m));
        ghostIn += COLLATERAL;
    }

    function leave(uint256 seed) external ticks(seed) {
        uint64 m = miner(seed);
        if (ff.provider(m).status != IFilFil.ProviderStatus.Registered) return;
        vm.prank(owner(m));
        ff.leave(m);
    }

    function stage(uint256 seed) external ticks(seed) {
        _stage(_recentSlot(seed), seed);
    }

    /// @dev Operators stage `slot` if it is due and not staged yet.
    function _stage(uint64 slot, uint256 seed) internal {
        if (startedSlots() == 0 || ff.snapshot(slot).pieces.length != 0) return;
        (, uint256 we) = _window(slot);
        if (block.number >= we) return;
        uint256 count = 1 + (seed >> 8) % 2;
        bytes32[] memory pieces = new bytes32[](count);
        uint64[] memory sizes = new uint64[](count);
        for (uint256 i; i < count; ++i) {
            pieces[i] = keccak256(abi.encode("inv-piece", slot, i));
            sizes[i] = 2048;
        }
        vm.prank(op1);
        ff.approveStage(slot, pieces, sizes);
        vm.prank(op2);
        ff.approveStage(slot, pieces, sizes);
    }

    function fundRewards(uint256 amount) external ticks(amount) {
        amount = bound(amount, 1, 5 ether);
        vm.deal(address(this), amount);
        ff.fundRewards{value: amount}();
        ghostIn += amount;
    }

    /// @dev The market notifies a few deals, possibly for non-holders, unstaged pieces or outside the window.
    function notifyDeal(uint256 seed) external ticks(seed) {
        for (uint256 i; i < 3; ++i) {
            _notifyOne(uint256(keccak256(abi.encode(seed, i))));
        }
    }

    function _notifyOne(uint256 seed) internal {
        uint64 slot = _recentSlot(seed);
        if ((seed >> 40) % 2 == 0) _stage(slot, seed);
        uint64 m = _pickMiner(slot, seed);
        bytes32 piece = keccak256(abi.encode("inv-piece", slot, (seed >> 16) % 3));
        TestCbor.DealFields memory d = TestCbor.DealFields({
            piece: piece,
            pieceSize: 2048,
            verified: false,
            clientId: 1000,
            providerId: m,
            label: "",
            startEpoch: int64(uint64(block.number + 10)),
            endEpoch: int64(uint64(block.number + 10 + 600_000)),
            price: 1,
            providerCollateral: 1,
            clientCollateral: 0
        });
        uint64 id = nextDealId++;
        vm.prank(MARKET);
        ff.handle_filecoin_method(4186741094, 0x51, TestCbor.notifyParams(TestCbor.proposal(d), id));
        IFilFil.DealRecord memory rec = ff.deal(id);
        if (rec.minerId == 0) return;
        ghostDeals++;
        _checkRecorded(rec.slot, rec.seat, rec.pieceIndex, rec.minerId, piece);
    }

    /// @dev A miner actor notifies DDO activations.
    function activate(uint256 seed) external ticks(seed) {
        for (uint256 i; i < 2; ++i) {
            _activateOne(uint256(keccak256(abi.encode(seed, i))));
        }
    }

    function _activateOne(uint256 seed) internal {
        uint64 slot = _recentSlot(seed);
        if ((seed >> 40) % 2 == 0) _stage(slot, seed);
        uint64 m = _pickMiner(slot, seed);
        if (ff.provider(m).status == IFilFil.ProviderStatus.None) return;
        uint256 idx = (seed >> 16) % 3;
        bytes32 piece = keccak256(abi.encode("inv-piece", slot, idx));
        TestCbor.PieceChange[] memory pcs = new TestCbor.PieceChange[](1);
        pcs[0] = TestCbor.PieceChange({piece: piece, size: 2048, payload: ""});
        bytes memory cbor =
            abi.encodePacked(hex"81", TestCbor.sectorChanges(1, int64(uint64(block.number + 600_000)), pcs));
        vm.prank(address(uint160(0xff) << 152 | uint160(m)));
        (,, bytes memory ret) = ff.handle_filecoin_method(2034386435, 0x51, cbor);
        if (ret[2] != 0xf5) return;
        ghostActivations++;
        uint64[] memory seats = ff.seatsOf(slot);
        for (uint256 s; s < seats.length; ++s) {
            if (seats[s] == m) _checkRecorded(slot, s, idx, m, piece);
        }
    }

    function _checkRecorded(uint64 slot, uint256 seat, uint256 idx, uint64 m, bytes32 piece) internal {
        IFilFil.SnapshotInfo memory s = ff.snapshot(slot);
        (uint256 ws, uint256 we) = _window(slot);
        bool ok = idx < s.pieces.length && s.pieces[idx] == piece && seat < s.seats.length && s.seats[seat] == m
            && block.number >= ws && block.number < we;
        if (!ok) ghostBadDeals++;
    }

    function recordMiss(uint256 seed) external ticks(seed) {
        uint256 started = startedSlots();
        if (started == 0) return;
        uint64 slot = uint64(seed % started);
        uint256 seat = (seed >> 8) % 2;
        try ff.recordMiss(slot, seat) {} catch {}
    }

    function reportTermination(uint256 seed) external ticks(seed) {
        if (nextDealId == 1) return;
        uint64 id = uint64(1 + seed % (nextDealId - 1));
        if (ff.deal(id).minerId == 0 || ff.deal(id).terminationReported) return;
        actors.setActivation(id, 0, 1, int64(uint64(block.number)));
        ff.reportTermination(id);
    }

    function release(uint256 seed) external ticks(seed) {
        uint64 m = miner(seed);
        IFilFil.ProviderInfo memory p = ff.provider(m);
        if (p.status != IFilFil.ProviderStatus.Left || p.stake == 0) return;
        vm.prank(owner(m));
        try ff.releaseCollateral(m) {} catch {}
    }

    function withdraw(uint256 seed) external ticks(seed) {
        address a = accounts[seed % accounts.length];
        uint256 bal = ff.balanceOf(a);
        if (bal == 0) return;
        vm.prank(a);
        ff.withdraw();
        ghostOut += bal;
    }

    receive() external payable {}
}

contract FilFilInvariantTest is FilFilTestBase {
    Handler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new Handler(ff, actors, op1, op2);
        targetContract(address(handler));
        vm.roll(START - 50); // registrations before start, then the schedule runs
    }

    /// @dev The contract holds exactly stake + reward pool + withdrawable balances (escrow is unused
    ///      here), and so never less than what can be withdrawn.
    function invariant_SolventAndBalanced() public view {
        (uint256 pool, uint256 stake, uint256 balances) = ff.totals();
        assertEq(address(ff).balance, handler.ghostIn() - handler.ghostOut(), "value conservation");
        assertEq(address(ff).balance, pool + stake + balances, "accounting");
        assertGe(address(ff).balance, balances, "covers withdrawable balances");
    }

    /// @dev Sum of per-SP stakes and per-account balances equal the totals.
    function invariant_CollateralAccounting() public view {
        (, uint256 stake, uint256 balances) = ff.totals();
        IFilFil.ProviderInfo[] memory ps = ff.providers();
        uint256 sumStake;
        for (uint256 i; i < ps.length; ++i) {
            sumStake += ps[i].stake;
            if (ps[i].status == IFilFil.ProviderStatus.Deregistered) assertEq(ps[i].stake, 0);
        }
        assertEq(sumStake, stake, "stakes");
        uint256 sumBalances;
        for (uint256 i; i < handler.accountsLength(); ++i) {
            sumBalances += ff.balanceOf(handler.accounts(i));
        }
        assertEq(sumBalances, balances, "balances");
    }

    /// @dev Each seat has at most one SP, no SP holds two seats of a slot, holders are in that slot's list.
    function invariant_SeatsUnique() public view {
        uint256 started = handler.startedSlots();
        uint256 from = started > 3 ? started - 3 : 0;
        for (uint256 k = from; k < started + 3; ++k) {
            uint64[] memory seats = ff.seatsOf(uint64(k));
            uint64[] memory list = ff.activeProviders(uint64(k));
            for (uint256 i; i < seats.length; ++i) {
                if (seats[i] == 0) continue;
                bool inList;
                for (uint256 j; j < list.length; ++j) {
                    if (list[j] == seats[i]) inList = true;
                }
                assertTrue(inList, "holder in list");
                for (uint256 j; j < i; ++j) {
                    assertTrue(seats[j] != seats[i], "two seats of one slot");
                }
            }
        }
    }

    /// @dev Deals and activations are only recorded for staged pieces, from a seat holder, inside its window.
    function invariant_DealsOnlyValid() public view {
        assertEq(handler.ghostBadDeals(), 0);
    }
}
