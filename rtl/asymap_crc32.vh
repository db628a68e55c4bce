// Parallel CRC-32 (zlib / IEEE 802.3 polynomial, reflected) over one CRC_W-bit beat.
//
// Included inside a module that defines the parameter CRC_W. The loop walks the beat's bits in
// wire order (byte 0 bit 0 first, little-endian, as zlib walks the bytes), so after unrolling the
// result is a pure XOR network: each next-state bit is the parity of a fixed subset of the 32 state
// bits and the CRC_W data bits (synthesis flattens the loop; nothing is sequential).
// The state register starts at 32'hFFFFFFFF; zlib.crc32(bytes) == ~state after the last beat.
function [31:0] asymap_crc32_next;
    input [31:0]      crc;
    input [CRC_W-1:0] data;
    integer b;
    reg [31:0] c;
    begin
        c = crc;
        for (b = 0; b < CRC_W; b = b + 1)
            c = (c >> 1) ^ ({32{c[0] ^ data[b]}} & 32'hEDB88320);
        asymap_crc32_next = c;
    end
endfunction
