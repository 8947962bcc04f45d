// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title FilCbor
/// @notice Minimal CBOR reader/writer for exactly the Filecoin structures FilFil handles.
/// @dev The reader never reverts: any malformed, truncated or unsupported input sets `err`, after
///      which every read returns zero values. Callers check `err` once at the end. Only definite
///      lengths are accepted (DAG-CBOR forbids indefinite ones). Wire formats checked against
///      filecoin-project/builtin-actors:
///      - DealProposal (actors/market/src/deal.rs): 11-tuple [piece_cid, piece_size, verified_deal,
///        client, provider, label, start_epoch, end_epoch, storage_price_per_epoch,
///        provider_collateral, client_collateral]; CIDs as tag 42 over bytes with a 0x00 prefix;
///        Label is a CBOR text or byte string; TokenAmount is a BigInt byte string (empty = 0,
///        else sign byte 0x00/0x01 then big-endian magnitude).
///      - AuthenticateMessageParams (actors/account/src/types.rs): [signature bytes, message bytes].
///      - MarketNotifyDealParams (actors/market/src/types.rs): [proposal bytes, deal_id].
///      - SectorContentChangedParams (actors/miner/src/ext.rs, FIP-0109): transparent
///        Vec<[sector, minimum_commitment_epoch, Vec<[cid, size, payload]>]>; the return is the
///        transparent Vec<Vec<bool>>.
///      - Addresses (fvm_shared): ID = 0x00 ‖ LEB128(id); delegated f4 = 0x04 ‖ LEB128(ns) ‖ sub.
library FilCbor {
    struct Reader {
        bytes data;
        uint256 pos;
        uint256 end;
        bool err;
    }

    /// @notice A decoded DealProposal (only what FilFil checks; client and label are skipped).
    struct Proposal {
        bytes32 piece;
        uint64 pieceSize;
        bool verified;
        bool providerIsId;
        uint64 providerId;
        int64 startEpoch;
        int64 endEpoch;
        uint256 pricePerEpoch;
        uint256 providerCollateral;
        uint256 clientCollateral;
    }

    /// @dev CIDv1 ‖ fil-commitment-unsealed (0xf101) ‖ sha2-256-trunc254-padded (0x1012) ‖ 32 bytes.
    bytes7 internal constant COMMP_PREFIX = 0x0181e203922020;

    uint8 internal constant MAJOR_UINT = 0;
    uint8 internal constant MAJOR_NEGINT = 1;
    uint8 internal constant MAJOR_BYTES = 2;
    uint8 internal constant MAJOR_TEXT = 3;
    uint8 internal constant MAJOR_ARRAY = 4;
    uint8 internal constant MAJOR_TAG = 6;

    // ------------------------------------------------------------------ reader

    function reader(bytes memory data) internal pure returns (Reader memory r) {
        r.data = data;
        r.end = data.length;
    }

    function _byteAt(bytes memory data, uint256 i) private pure returns (uint8 b) {
        assembly ("memory-safe") {
            b := byte(0, mload(add(add(data, 32), i)))
        }
    }

    /// @dev Big-endian unsigned integer of `n` (<= 32) bytes at `i`.
    function _uintAt(bytes memory data, uint256 i, uint256 n) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(shl(3, sub(32, n)), mload(add(add(data, 32), i)))
        }
    }

    /// @notice Read a CBOR item header: major type and argument.
    function header(Reader memory r) internal pure returns (uint8 major, uint64 arg) {
        if (r.err || r.pos >= r.end) {
            r.err = true;
            return (0, 0);
        }
        uint8 b = _byteAt(r.data, r.pos);
        major = b >> 5;
        uint8 info = b & 31;
        r.pos += 1;
        if (info < 24) return (major, info);
        uint256 n;
        if (info == 24) {
            n = 1;
        } else if (info == 25) {
            n = 2;
        } else if (info == 26) {
            n = 4;
        } else if (info == 27) {
            n = 8;
        } else {
            // reserved, or indefinite length / break / simple values with no argument
            r.err = true;
            return (0, 0);
        }
        if (r.end - r.pos < n) {
            r.err = true;
            return (0, 0);
        }
        arg = uint64(_uintAt(r.data, r.pos, n));
        r.pos += n;
    }

    /// @notice Expect `major` and return its argument.
    function expect(Reader memory r, uint8 major) internal pure returns (uint64 arg) {
        (uint8 m, uint64 a) = header(r);
        if (m != major) {
            r.err = true;
            return 0;
        }
        return r.err ? 0 : a;
    }

    function readUint(Reader memory r) internal pure returns (uint64) {
        return expect(r, MAJOR_UINT);
    }

    /// @notice A CBOR integer that must fit an int64 (ChainEpoch).
    function readInt64(Reader memory r) internal pure returns (int64) {
        (uint8 m, uint64 a) = header(r);
        if (r.err) return 0;
        if (a > uint64(type(int64).max)) {
            r.err = true;
            return 0;
        }
        if (m == MAJOR_UINT) return int64(a);
        if (m == MAJOR_NEGINT) return -1 - int64(a);
        r.err = true;
        return 0;
    }

    function readBool(Reader memory r) internal pure returns (bool) {
        if (r.err || r.pos >= r.end) {
            r.err = true;
            return false;
        }
        uint8 b = _byteAt(r.data, r.pos);
        r.pos += 1;
        if (b == 0xf5) return true;
        if (b != 0xf4) r.err = true;
        return false;
    }

    /// @notice Read a byte string (major 2) header; returns its offset and length and skips it.
    function readBytesRange(Reader memory r) internal pure returns (uint256 start, uint256 len) {
        len = expect(r, MAJOR_BYTES);
        if (r.err || r.end - r.pos < len) {
            r.err = true;
            return (0, 0);
        }
        start = r.pos;
        r.pos += len;
    }

    /// @notice Skip a text or byte string (DealProposal Label).
    function skipString(Reader memory r) internal pure {
        (uint8 m, uint64 len) = header(r);
        if (r.err || (m != MAJOR_BYTES && m != MAJOR_TEXT) || r.end - r.pos < len) {
            r.err = true;
            return;
        }
        r.pos += len;
    }

    function readArrayLen(Reader memory r) internal pure returns (uint64) {
        return expect(r, MAJOR_ARRAY);
    }

    /// @notice A non-negative TokenAmount (BigInt bytes) that fits uint256.
    function readTokenAmount(Reader memory r) internal pure returns (uint256 v) {
        (uint256 start, uint256 len) = readBytesRange(r);
        if (r.err || len == 0) return 0;
        // sign byte must be 0x00 (positive); magnitude at most 32 bytes
        if (len > 33 || _byteAt(r.data, start) != 0) {
            r.err = true;
            return 0;
        }
        if (len > 1) v = _uintAt(r.data, start + 1, len - 1);
    }

    /// @notice A Filecoin address byte string. Returns whether it is an ID address and its ID.
    function readAddress(Reader memory r) internal pure returns (bool isId, uint64 id) {
        (uint256 start, uint256 len) = readBytesRange(r);
        if (r.err || len == 0) {
            r.err = true;
            return (false, 0);
        }
        if (_byteAt(r.data, start) != 0) return (false, 0);
        // LEB128 u64 (at most 10 bytes) that must end exactly at the end of the address
        uint256 value;
        uint256 shift;
        uint256 i = start + 1;
        uint256 stop = start + len;
        bool done;
        for (; i < stop && shift < 70; ++i) {
            uint8 b = _byteAt(r.data, i);
            value |= uint256(b & 0x7f) << shift;
            shift += 7;
            if (b & 0x80 == 0) {
                done = true;
                ++i;
                break;
            }
        }
        if (!done || i != stop || value > type(uint64).max) {
            r.err = true;
            return (false, 0);
        }
        return (true, uint64(value));
    }

    /// @notice A piece CID (tag 42 over 0x00 ‖ commP CID); returns the 32-byte commP digest.
    function readPieceCid(Reader memory r) internal pure returns (bytes32 digest) {
        if (expect(r, MAJOR_TAG) != 42) {
            r.err = true;
            return 0;
        }
        (uint256 start, uint256 len) = readBytesRange(r);
        if (
            r.err || len != 40 || _byteAt(r.data, start) != 0
                || uint56(_uintAt(r.data, start + 1, 7)) != uint56(COMMP_PREFIX)
        ) {
            r.err = true;
            return 0;
        }
        digest = bytes32(_uintAt(r.data, start + 8, 32));
    }

    // ------------------------------------------------------------------ structures

    /// @notice Decode a DealProposal occupying exactly `r.pos..end`.
    function readProposal(Reader memory r, uint256 end) internal pure returns (Proposal memory p) {
        uint256 outerEnd = r.end;
        r.end = end;
        if (readArrayLen(r) != 11) r.err = true;
        p.piece = readPieceCid(r);
        p.pieceSize = readUint(r);
        p.verified = readBool(r);
        readAddress(r); // client: FilFil itself (the market calls AuthenticateMessage on the client)
        (p.providerIsId, p.providerId) = readAddress(r);
        skipString(r); // label
        p.startEpoch = readInt64(r);
        p.endEpoch = readInt64(r);
        p.pricePerEpoch = readTokenAmount(r);
        p.providerCollateral = readTokenAmount(r);
        p.clientCollateral = readTokenAmount(r);
        if (r.pos != end) r.err = true;
        r.end = outerEnd;
    }

    /// @notice AuthenticateMessageParams {signature, message}: decode the message as a DealProposal.
    function decodeAuthenticateMessage(bytes memory params) internal pure returns (Proposal memory p, bool ok) {
        Reader memory r = reader(params);
        if (readArrayLen(r) != 2) r.err = true;
        readBytesRange(r); // signature: unused, the market only asks whether this contract agrees
        (uint256 start, uint256 len) = readBytesRange(r);
        if (!r.err) {
            r.pos = start;
            p = readProposal(r, start + len);
        }
        ok = !r.err && r.pos == r.end;
    }

    /// @notice MarketNotifyDealParams {proposal bytes, deal_id}.
    function decodeMarketNotifyDeal(bytes memory params)
        internal
        pure
        returns (Proposal memory p, uint64 dealId, bool ok)
    {
        Reader memory r = reader(params);
        if (readArrayLen(r) != 2) r.err = true;
        (uint256 start, uint256 len) = readBytesRange(r);
        if (!r.err) {
            uint256 after_ = r.pos;
            r.pos = start;
            p = readProposal(r, start + len);
            r.pos = after_;
        }
        dealId = readUint(r);
        ok = !r.err && r.pos == r.end;
    }

    /// @notice GetDealActivationReturn {activated, terminated}.
    function decodeDealActivation(bytes memory ret) internal pure returns (int64 activated, int64 terminated, bool ok) {
        Reader memory r = reader(ret);
        if (readArrayLen(r) != 2) r.err = true;
        activated = readInt64(r);
        terminated = readInt64(r);
        ok = !r.err && r.pos == r.end;
    }

    /// @notice A single CBOR bool (IsControllingAddressReturn is a transparent bool).
    function decodeBool(bytes memory ret) internal pure returns (bool value, bool ok) {
        Reader memory r = reader(ret);
        value = readBool(r);
        ok = !r.err && r.pos == r.end;
    }

    // ------------------------------------------------------------------ writer

    /// @notice CBOR header for `major` with argument `arg`.
    function encodeHeader(uint8 major, uint64 arg) internal pure returns (bytes memory) {
        uint8 m = major << 5;
        if (arg < 24) return abi.encodePacked(m | uint8(arg));
        if (arg <= type(uint8).max) return abi.encodePacked(m | 24, uint8(arg));
        if (arg <= type(uint16).max) return abi.encodePacked(m | 25, uint16(arg));
        if (arg <= type(uint32).max) return abi.encodePacked(m | 26, uint32(arg));
        return abi.encodePacked(m | 27, arg);
    }

    function encodeUint(uint64 v) internal pure returns (bytes memory) {
        return encodeHeader(MAJOR_UINT, v);
    }

    function encodeBytes(bytes memory b) internal pure returns (bytes memory) {
        return abi.encodePacked(encodeHeader(MAJOR_BYTES, uint64(b.length)), b);
    }

    /// @notice Filecoin ID address bytes: 0x00 ‖ LEB128(id).
    function idAddress(uint64 id) internal pure returns (bytes memory out) {
        out = abi.encodePacked(uint8(0));
        uint64 v = id;
        while (true) {
            uint8 b = uint8(v & 0x7f);
            v >>= 7;
            if (v == 0) return abi.encodePacked(out, b);
            out = abi.encodePacked(out, b | 0x80);
        }
    }

    /// @notice The Filecoin address of an EVM caller: a masked ID address (0xff ‖ 0…0 ‖ id) is the
    ///         ID address; anything else is the EAM delegated address f410 (0x04 ‖ 0x0a ‖ 20 bytes).
    function filAddress(address a) internal pure returns (bytes memory) {
        (bool masked, uint64 id) = maskedId(a);
        if (masked) return idAddress(id);
        return abi.encodePacked(uint8(4), uint8(10), a);
    }

    /// @notice Whether `a` is a masked ID address 0xff000000000000000000000 ‖ uint64 id.
    function maskedId(address a) internal pure returns (bool, uint64) {
        uint160 v = uint160(a);
        return ((v >> 64) == (uint160(0xff) << 88), uint64(v));
    }
}
