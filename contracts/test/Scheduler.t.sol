// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {FilFil} from "../src/FilFil.sol";
import {IFilFil} from "../src/interfaces/IFilFil.sol";
import {FilFilTestBase} from "./utils/FilFilTestBase.sol";

/// @notice Round-robin scheduler: exact seat formula, frozen rounds, joins/leaves at round boundaries.
contract SchedulerTest is FilFilTestBase {
    uint256 internal r = 2;
    /// @dev Seats of slots observed while they were fixed (running round), re-checked at the end.
    mapping(uint256 slot => bytes32) internal observed;
    uint256 internal maxObserved;

    function _startedSlots() internal view returns (uint256) {
        if (block.number < START) return 0;
        return (block.number - START) / INTERVAL + 1;
    }

    /// @dev First round boundary >= `started` (walking rounds from slot 0).
    function _nextBoundary(uint256 started) internal view returns (uint256 s) {
        while (s < started) {
            uint256 n = ff.activeProviders(uint64(s)).length;
            s += n == 0 ? 1 : n;
        }
    }

    /// @dev Every round up to `upTo`: list frozen within the round, seat i of relative slot j is
    ///      L[(j + i) mod n] for i < min(r, n) and vacant otherwise, so each SP holds min(r, n) seats
    ///      per round and never two seats of one slot.
    function _checkRounds(uint256 upTo) internal view {
        uint256 s;
        while (s <= upTo) {
            uint64[] memory l = ff.activeProviders(uint64(s));
            uint256 n = l.length;
            uint256 len = n == 0 ? 1 : n;
            uint256 rr = r < n ? r : n;
            uint256[] memory held = new uint256[](n);
            for (uint256 j; j < len; ++j) {
                assertEq(keccak256(abi.encode(ff.activeProviders(uint64(s + j)))), keccak256(abi.encode(l)), "frozen");
                uint64[] memory seats = ff.seatsOf(uint64(s + j));
                for (uint256 i; i < seats.length; ++i) {
                    uint64 expected = i < rr ? l[(j + i) % n] : 0;
                    assertEq(seats[i], expected, "seat formula");
                    if (i < rr) held[(j + i) % n] += 1;
                }
            }
            for (uint256 p; p < n; ++p) {
                assertEq(held[p], rr, "r seats per SP per round");
            }
            s += len;
        }
    }

    function testFuzz_RoundRobinSeatsPerRound(uint8 nRaw, uint8 rRaw) public {
        uint256 n = bound(nRaw, 1, 12);
        r = bound(rRaw, 1, 6);
        IFilFil.Params memory p = _defaultParams();
        p.replication = uint16(r);
        address[] memory ops = new address[](2);
        (ops[0], ops[1]) = (op1, op2);
        ff = new FilFil(_schedule(), p, ops, 2);
        for (uint256 i; i < n; ++i) {
            _register(uint64(101 + i));
        }
        assertEq(ff.activeProviders(0).length, n);
        _checkRounds(3 * n);
    }

    /// @dev Random registrations, leaves and time: every change lands exactly at the next round
    ///      boundary and never alters a slot of the running round.
    function testFuzz_ChangesApplyAtNextRound(uint256 seed) public {
        bool[16] memory registered;
        bool[16] memory left;
        for (uint256 step; step < 24; ++step) {
            uint256 rnd = uint256(keccak256(abi.encode(seed, step)));
            uint256 action = rnd % 3;
            uint64 miner = uint64(101 + (rnd >> 8) % 16);
            uint256 idx = miner - 101;
            if (action == 0) {
                vm.roll(block.number + (rnd >> 16) % 250);
                continue;
            }
            if (action == 1 && registered[idx]) continue;
            if (action == 2 && (!registered[idx] || left[idx])) continue;

            uint256 started = _startedSlots();
            uint256 boundary = _nextBoundary(started);
            bytes32[] memory before = new bytes32[](boundary + 1);
            for (uint256 k = started == 0 ? 0 : started - 1; k < boundary; ++k) {
                before[k] = keccak256(abi.encode(ff.seatsOf(uint64(k))));
            }
            if (action == 1) {
                _register(miner);
                registered[idx] = true;
                assertEq(ff.provider(miner).joinSlot, boundary, "joins at the next round");
                assertLt(_firstIndex(ff.activeProviders(uint64(boundary)), miner), type(uint256).max);
            } else {
                vm.prank(_owner(miner));
                ff.leave(miner);
                left[idx] = true;
                assertEq(ff.provider(miner).leaveSlot, boundary, "leaves at the next round");
                assertEq(_firstIndex(ff.activeProviders(uint64(boundary)), miner), type(uint256).max);
                if (boundary > 0 && ff.provider(miner).joinSlot < boundary) {
                    assertLt(_firstIndex(ff.activeProviders(uint64(boundary - 1)), miner), type(uint256).max);
                }
            }
            for (uint256 k = started == 0 ? 0 : started - 1; k < boundary; ++k) {
                assertEq(keccak256(abi.encode(ff.seatsOf(uint64(k)))), before[k], "running round unchanged");
                observed[k] = before[k];
                if (k > maxObserved) maxObserved = k;
            }
        }
        _checkRounds(_startedSlots() + 20);
        // history is stable: every slot observed while fixed still has the same seats after all
        // later eras were written
        for (uint256 k; k <= maxObserved; ++k) {
            if (observed[k] != bytes32(0)) {
                assertEq(keccak256(abi.encode(ff.seatsOf(uint64(k)))), observed[k], "history stable");
            }
        }
    }

    function _firstIndex(uint64[] memory list, uint64 v) internal pure returns (uint256) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == v) return i;
        }
        return type(uint256).max;
    }

    function test_ReplicationCappedAtActiveCount() public {
        _register(101);
        uint64[] memory seats = ff.seatsOf(0);
        assertEq(seats[0], 101);
        assertEq(seats[1], 0);
        _checkRounds(5);
    }
}
