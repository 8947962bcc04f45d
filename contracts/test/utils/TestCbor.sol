// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {FilCbor} from "../../src/lib/FilCbor.sol";

/// @notice Independent CBOR encoders used by tests to build what the market and miner actors send.
library TestCbor {
    struct DealFields {
        bytes32 piece;
        uint64 pieceSize;
        bool verified;
        uint64 clientId;
        /// @dev type(uint64).max encodes an f410 (non-ID) provider address
        uint64 providerId;
        string label;
        int64 startEpoch;
        int64 endEpoch;
        uint256 price;
        uint256 providerCollateral;
        uint256 clientCollateral;
    }

    struct PieceChange {
        bytes32 piece;
        uint64 size;
        bytes payload;
    }

    function int64Item(int64 v) internal pure returns (bytes memory) {
        if (v >= 0) return FilCbor.encodeHeader(0, uint64(v));
        return FilCbor.encodeHeader(1, uint64(-1 - v));
    }

    /// @dev fvm BigInt bytes: empty for zero, else 0x00 sign byte then minimal big-endian magnitude.
    function tokenAmount(uint256 v) internal pure returns (bytes memory) {
        if (v == 0) return hex"40";
        uint256 n;
        for (uint256 x = v; x != 0; x >>= 8) {
            ++n;
        }
        bytes memory mag = new bytes(n);
        for (uint256 i; i < n; ++i) {
            mag[n - 1 - i] = bytes1(uint8(v >> (8 * i)));
        }
        return FilCbor.encodeBytes(abi.encodePacked(uint8(0), mag));
    }

    function pieceCid(bytes32 digest) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"d82a5828000181e203922020", digest);
    }

    function textString(string memory s) internal pure returns (bytes memory) {
        return abi.encodePacked(FilCbor.encodeHeader(3, uint64(bytes(s).length)), s);
    }

    function proposal(DealFields memory d) internal pure returns (bytes memory) {
        bytes memory head = abi.encodePacked(
            hex"8b",
            pieceCid(d.piece),
            FilCbor.encodeUint(d.pieceSize),
            d.verified ? hex"f5" : hex"f4",
            FilCbor.encodeBytes(FilCbor.idAddress(d.clientId)),
            FilCbor.encodeBytes(
                d.providerId == type(uint64).max
                    ? abi.encodePacked(hex"040a", bytes20(keccak256("f410 provider")))
                    : FilCbor.idAddress(d.providerId)
            ),
            textString(d.label)
        );
        return abi.encodePacked(
            head,
            int64Item(d.startEpoch),
            int64Item(d.endEpoch),
            tokenAmount(d.price),
            tokenAmount(d.providerCollateral),
            tokenAmount(d.clientCollateral)
        );
    }

    /// @dev AuthenticateMessageParams {signature, message}.
    function authParams(bytes memory signature, bytes memory message) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"82", FilCbor.encodeBytes(signature), FilCbor.encodeBytes(message));
    }

    /// @dev MarketNotifyDealParams {proposal, deal_id}.
    function notifyParams(bytes memory proposalBytes, uint64 dealId) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"82", FilCbor.encodeBytes(proposalBytes), FilCbor.encodeUint(dealId));
    }

    /// @dev SectorContentChangedParams for one sector (transparent Vec<SectorChanges>).
    function sectorChanges(uint64 sector, int64 minCommitment, PieceChange[] memory pieces)
        internal
        pure
        returns (bytes memory out)
    {
        out = abi.encodePacked(
            hex"83",
            FilCbor.encodeUint(sector),
            int64Item(minCommitment),
            FilCbor.encodeHeader(4, uint64(pieces.length))
        );
        for (uint256 i; i < pieces.length; ++i) {
            out = abi.encodePacked(
                out,
                hex"83",
                pieceCid(pieces[i].piece),
                FilCbor.encodeUint(pieces[i].size),
                FilCbor.encodeBytes(pieces[i].payload)
            );
        }
    }
}
