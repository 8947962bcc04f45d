// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {FilCbor} from "../src/lib/FilCbor.sol";
import {TestCbor} from "./utils/TestCbor.sol";

/// @dev Exposes the library so reverts and memory effects stay inside a call.
contract FilCborHarness {
    function decodeAuth(bytes memory params) external pure returns (FilCbor.Proposal memory p, bool ok) {
        return FilCbor.decodeAuthenticateMessage(params);
    }

    function decodeNotify(bytes memory params) external pure returns (FilCbor.Proposal memory p, uint64 id, bool ok) {
        return FilCbor.decodeMarketNotifyDeal(params);
    }

    function readAddress(bytes memory cbor) external pure returns (bool isId, uint64 id, bool ok) {
        FilCbor.Reader memory r = FilCbor.reader(cbor);
        (isId, id) = FilCbor.readAddress(r);
        ok = !r.err && r.pos == r.end;
    }

    function readToken(bytes memory cbor) external pure returns (uint256 v, bool ok) {
        FilCbor.Reader memory r = FilCbor.reader(cbor);
        v = FilCbor.readTokenAmount(r);
        ok = !r.err && r.pos == r.end;
    }

    function readInt64(bytes memory cbor) external pure returns (int64 v, bool ok) {
        FilCbor.Reader memory r = FilCbor.reader(cbor);
        v = FilCbor.readInt64(r);
        ok = !r.err && r.pos == r.end;
    }

    function decodeActivation(bytes memory cbor) external pure returns (int64 a, int64 t, bool ok) {
        return FilCbor.decodeDealActivation(cbor);
    }

    function decodeBool(bytes memory cbor) external pure returns (bool v, bool ok) {
        return FilCbor.decodeBool(cbor);
    }
}

contract FilCborTest is Test {
    FilCborHarness internal h;

    bytes internal constant VECTOR_AUTH =
        hex"8240584c8bd82a5828000181e2039220206b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b190800f4420068420066656c6162656c0a1a0008ca0a42000a42000a42000a";
    bytes internal constant VECTOR_PROPOSAL =
        hex"8bd82a5828000181e2039220206b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b190800f4420068420066656c6162656c0a1a0008ca0a42000a42000a42000a";

    function setUp() public {
        h = new FilCborHarness();
    }

    function _assertVector(FilCbor.Proposal memory p) internal pure {
        assertEq(p.piece, 0x6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b);
        assertEq(p.pieceSize, 2048);
        assertFalse(p.verified);
        assertTrue(p.providerIsId);
        assertEq(p.providerId, 102);
        assertEq(p.startEpoch, 10);
        assertEq(p.endEpoch, 576010);
        assertEq(p.pricePerEpoch, 10);
        assertEq(p.providerCollateral, 10);
        assertEq(p.clientCollateral, 10);
    }

    function test_DecodeBuiltinAuthenticateMessageVector() public view {
        (FilCbor.Proposal memory p, bool ok) = h.decodeAuth(VECTOR_AUTH);
        assertTrue(ok);
        _assertVector(p);
    }

    function test_DecodeBuiltinMarketNotifyDealVector() public view {
        (FilCbor.Proposal memory p, uint64 id, bool ok) =
            h.decodeNotify(abi.encodePacked(hex"82584c", VECTOR_PROPOSAL, hex"1904d2"));
        assertTrue(ok);
        assertEq(id, 1234);
        _assertVector(p);
    }

    function test_EncoderReproducesBuiltinVector() public pure {
        TestCbor.DealFields memory d = TestCbor.DealFields({
            piece: 0x6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b,
            pieceSize: 2048,
            verified: false,
            clientId: 104,
            providerId: 102,
            label: "label",
            startEpoch: 10,
            endEpoch: 576010,
            price: 10,
            providerCollateral: 10,
            clientCollateral: 10
        });
        assertEq(TestCbor.proposal(d), VECTOR_PROPOSAL);
        assertEq(TestCbor.authParams("", VECTOR_PROPOSAL), VECTOR_AUTH);
    }

    function test_RejectsMalformedProposals() public view {
        bytes[] memory bad = new bytes[](9);
        // 10-tuple instead of 11
        bad[0] = abi.encodePacked(hex"8a", _slice(VECTOR_PROPOSAL, 1));
        // tag 43 instead of 42
        bad[1] = _patch(VECTOR_PROPOSAL, 2, 0x2b);
        // CID without the 0x00 multibase prefix byte
        bad[2] = _patch(VECTOR_PROPOSAL, 5, 0x01);
        // not a commP multihash (sha2-256 0x12 instead of 0x1012)
        bad[3] = _patch(VECTOR_PROPOSAL, 10, 0x12);
        // verified not a bool
        bad[4] = _patch(VECTOR_PROPOSAL, 48, 0xf6);
        // negative provider collateral (sign byte 0x01)
        bad[5] = _patch(VECTOR_PROPOSAL, 71, 0x01);
        // provider address not an ID address and not a valid one (protocol 0 with a dangling LEB128)
        bad[6] = _patch(VECTOR_PROPOSAL, 54, 0x80);
        // trailing byte inside the message
        bad[7] = abi.encodePacked(VECTOR_PROPOSAL, hex"00");
        // indefinite-length array
        bad[8] = _patch(VECTOR_PROPOSAL, 0, 0x9f);
        for (uint256 i; i < bad.length; ++i) {
            (, bool ok) = h.decodeAuth(TestCbor.authParams("", bad[i]));
            assertFalse(ok, vm.toString(i));
        }
        // trailing byte after the params
        (, bool ok2) = h.decodeAuth(abi.encodePacked(VECTOR_AUTH, hex"00"));
        assertFalse(ok2);
    }

    function test_ReadsLabelAsBytes() public view {
        // Label may be a byte string (major 2) instead of text
        bytes memory p = _patch(VECTOR_PROPOSAL, 55, 0x45);
        (FilCbor.Proposal memory d, bool ok) = h.decodeAuth(TestCbor.authParams("", p));
        assertTrue(ok);
        assertEq(d.endEpoch, 576010);
    }

    function test_DecodeDealActivationAndBool() public view {
        (int64 a, int64 t, bool ok) = h.decodeActivation(hex"82182a20");
        assertTrue(ok);
        assertEq(a, 42);
        assertEq(t, -1);
        (,, ok) = h.decodeActivation(hex"83182a2000");
        assertFalse(ok);
        (bool v, bool ok2) = h.decodeBool(hex"f5");
        assertTrue(v && ok2);
        (, ok2) = h.decodeBool(hex"f6");
        assertFalse(ok2);
        (, ok2) = h.decodeBool(hex"");
        assertFalse(ok2);
    }

    function test_FilAddressForms() public pure {
        assertEq(FilCbor.idAddress(0), hex"0000");
        assertEq(FilCbor.idAddress(102), hex"0066");
        assertEq(FilCbor.idAddress(1234), hex"00d209");
        assertEq(FilCbor.filAddress(address(uint160(0xff) << 152 | 1029)), hex"008508");
        address evm = 0x1234567890AbcdEF1234567890aBcdef12345678;
        assertEq(FilCbor.filAddress(evm), abi.encodePacked(hex"040a", evm));
        (bool masked,) = FilCbor.maskedId(0xff00000000000000000000000000000000000005);
        assertTrue(masked);
        (masked,) = FilCbor.maskedId(address(uint160(0xff) << 152 | uint160(1) << 64 | 5));
        assertFalse(masked);
    }

    function testFuzz_ProposalRoundTrip(TestCbor.DealFields memory d, uint64 dealId) public view {
        vm.assume(bytes(d.label).length < 200);
        vm.assume(d.providerId != type(uint64).max);
        bytes memory enc = TestCbor.proposal(d);
        (FilCbor.Proposal memory p, bool ok) = h.decodeAuth(TestCbor.authParams(hex"deadbeef", enc));
        assertTrue(ok);
        _assertFields(p, d);
        (FilCbor.Proposal memory q, uint64 id, bool ok2) = h.decodeNotify(TestCbor.notifyParams(enc, dealId));
        assertTrue(ok2);
        assertEq(id, dealId);
        _assertFields(q, d);
    }

    function _assertFields(FilCbor.Proposal memory p, TestCbor.DealFields memory d) internal pure {
        assertEq(p.piece, d.piece);
        assertEq(p.pieceSize, d.pieceSize);
        assertEq(p.verified, d.verified);
        assertTrue(p.providerIsId);
        assertEq(p.providerId, d.providerId);
        assertEq(p.startEpoch, d.startEpoch);
        assertEq(p.endEpoch, d.endEpoch);
        assertEq(p.pricePerEpoch, d.price);
        assertEq(p.providerCollateral, d.providerCollateral);
        assertEq(p.clientCollateral, d.clientCollateral);
    }

    function testFuzz_TruncatedProposalNeverDecodes(
        bytes32 piece,
        uint64 provider,
        int64 start,
        uint256 price,
        uint256 cut
    ) public view {
        vm.assume(provider != type(uint64).max);
        TestCbor.DealFields memory d =
            TestCbor.DealFields(piece, 2048, false, 1000, provider, "x", start, start, price, price, 0);
        bytes memory enc = TestCbor.proposal(d);
        cut = bound(cut, 0, enc.length - 1);
        bytes memory truncated = _slice(enc, 0);
        assembly {
            mstore(truncated, cut)
        }
        (, bool ok) = h.decodeAuth(TestCbor.authParams("", truncated));
        assertFalse(ok, "truncated message");
        bytes memory full = TestCbor.authParams("", enc);
        bytes memory cutParams = _slice(full, 0);
        uint256 cut2 = bound(uint256(keccak256(abi.encode(cut))), 0, full.length - 1);
        assembly {
            mstore(cutParams, cut2)
        }
        (, ok) = h.decodeAuth(cutParams);
        assertFalse(ok, "truncated params");
        (,, ok) = h.decodeNotify(cutParams);
        assertFalse(ok, "truncated notify params");
    }

    /// @dev Random input never reverts; if it decodes, it is a 2-array whose second item holds an 11-tuple.
    function testFuzz_RandomBytesNeverRevert(bytes memory data) public view {
        (, bool ok) = h.decodeAuth(data);
        if (ok) {
            assertEq(uint8(data[0]), 0x82);
        }
        h.decodeNotify(data);
    }

    /// @dev Flipping any byte of a valid encoding never yields a different decoded piece/provider
    ///      unless those bytes themselves changed (a mutated proposal decodes to itself or fails).
    function testFuzz_MutatedProposalDecodesConsistently(uint256 at, uint8 value) public view {
        at = bound(at, 0, VECTOR_PROPOSAL.length - 1);
        bytes memory m = _patch(VECTOR_PROPOSAL, at, value);
        (FilCbor.Proposal memory p, bool ok) = h.decodeAuth(TestCbor.authParams("", m));
        if (!ok) return;
        // the piece digest occupies bytes 13..44, the size 45..47, the provider 52..54: a mutation
        // anywhere else leaves them as they were
        if (at < 13 || at > 44) assertEq(p.piece, 0x6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b);
        if (at < 52 || at > 54) assertEq(p.providerId, 102);
        if (at < 45 || at > 47) assertEq(p.pieceSize, 2048);
    }

    function testFuzz_IdAddressRoundTrip(uint64 id) public view {
        (bool isId, uint64 got, bool ok) = h.readAddress(FilCbor.encodeBytes(FilCbor.idAddress(id)));
        assertTrue(ok && isId);
        assertEq(got, id);
    }

    function test_RejectsOverlongIdAddress() public view {
        // 11 LEB128 bytes / value above 2^64
        (,, bool ok) = h.readAddress(FilCbor.encodeBytes(hex"00ffffffffffffffffffff01"));
        assertFalse(ok);
        (,, ok) = h.readAddress(FilCbor.encodeBytes(hex"00ffffffffffffffffff02"));
        assertFalse(ok);
        (,, ok) = h.readAddress(FilCbor.encodeBytes(hex"00ffffffffffffffffff01"));
        assertTrue(ok);
        (,, ok) = h.readAddress(hex"40");
        assertFalse(ok, "empty address");
    }

    function testFuzz_TokenAmountRoundTrip(uint256 v) public view {
        (uint256 got, bool ok) = h.readToken(TestCbor.tokenAmount(v));
        assertTrue(ok);
        assertEq(got, v);
    }

    function test_RejectsOversizedTokenAmount() public view {
        (, bool ok) = h.readToken(abi.encodePacked(hex"5822", uint8(0), uint8(1), bytes32(0)));
        assertFalse(ok);
    }

    function testFuzz_Int64RoundTrip(int64 v) public view {
        (int64 got, bool ok) = h.readInt64(TestCbor.int64Item(v));
        assertTrue(ok);
        assertEq(got, v);
    }

    function test_RejectsInt64Overflow() public view {
        (, bool ok) = h.readInt64(hex"1b8000000000000000");
        assertFalse(ok);
        (, ok) = h.readInt64(hex"3b8000000000000000");
        assertFalse(ok);
        (int64 v, bool ok2) = h.readInt64(hex"3b7fffffffffffffff");
        assertTrue(ok2);
        assertEq(v, type(int64).min);
    }

    function testFuzz_HeaderRoundTrip(uint8 major, uint64 arg) public pure {
        major = uint8(bound(major, 0, 7));
        bytes memory enc = FilCbor.encodeHeader(major, arg);
        FilCbor.Reader memory r = FilCbor.reader(enc);
        (uint8 m, uint64 a) = FilCbor.header(r);
        assertFalse(r.err);
        assertEq(m, major);
        assertEq(a, arg);
        assertEq(r.pos, enc.length);
    }

    function _patch(bytes memory src, uint256 at, uint8 value) internal pure returns (bytes memory out) {
        out = _slice(src, 0);
        out[at] = bytes1(value);
    }

    function _slice(bytes memory src, uint256 from) internal pure returns (bytes memory out) {
        out = new bytes(src.length - from);
        for (uint256 i; i < out.length; ++i) {
            out[i] = src[from + i];
        }
    }
}
