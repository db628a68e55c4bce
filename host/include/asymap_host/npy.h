// Minimal .npy (NumPy format 1.0/2.0) reader and int8/uint8 writer for the host program.
// Reads C-order arrays of int8, uint8, int16 and int32 (little-endian), the dtypes asymap writes
// (input.npy is int16 holding quantized int8/uint8 values).
#ifndef ASYMAP_HOST_NPY_H
#define ASYMAP_HOST_NPY_H

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace asymap_host {

struct NpyArray {
    std::vector<size_t> shape;
    std::vector<int64_t> values;
    size_t size() const {
        size_t n = 1;
        for (size_t d : shape) n *= d;
        return n;
    }
};

inline std::string npy_field(const std::string& hdr, const std::string& key) {
    const size_t k = hdr.find("'" + key + "'");
    if (k == std::string::npos) throw std::runtime_error("npy header has no '" + key + "'");
    return hdr.substr(hdr.find(':', k) + 1);
}

inline NpyArray read_npy(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(path + ": cannot open");
    char magic[8];
    if (!f.read(magic, 8) || std::string(magic, 6) != "\x93NUMPY") throw std::runtime_error(path + ": not a .npy file");
    size_t hlen = 0;
    unsigned char b[4] = {0, 0, 0, 0};
    if (magic[6] == 1) {
        f.read(reinterpret_cast<char*>(b), 2);
        hlen = b[0] | b[1] << 8;
    } else {
        f.read(reinterpret_cast<char*>(b), 4);
        hlen = b[0] | b[1] << 8 | b[2] << 16 | size_t(b[3]) << 24;
    }
    std::string hdr(hlen, ' ');
    f.read(&hdr[0], hlen);
    const std::string descr = npy_field(hdr, "descr");
    const std::string order = npy_field(hdr, "fortran_order");
    if (order.find("True") < order.find(',')) throw std::runtime_error(path + ": Fortran-order arrays are not supported");
    const std::string sh = npy_field(hdr, "shape");
    NpyArray a;
    size_t p = sh.find('(') + 1;
    const size_t e = sh.find(')');
    while (p < e) {
        const size_t q = sh.find_first_of(",)", p);
        const std::string tok = sh.substr(p, q - p);
        if (tok.find_first_not_of(" ") != std::string::npos) a.shape.push_back(std::stoul(tok));
        p = q + 1;
    }
    unsigned size;
    bool sign;
    if (descr.find("'|i1'") < descr.find(',')) size = 1, sign = true;
    else if (descr.find("'|u1'") < descr.find(',')) size = 1, sign = false;
    else if (descr.find("'<i2'") < descr.find(',')) size = 2, sign = true;
    else if (descr.find("'<i4'") < descr.find(',')) size = 4, sign = true;
    else throw std::runtime_error(path + ": dtype must be int8, uint8, int16 or int32");
    a.values.resize(a.size());
    std::vector<unsigned char> raw(a.size() * size);
    if (!f.read(reinterpret_cast<char*>(raw.data()), raw.size())) throw std::runtime_error(path + ": truncated data");
    for (size_t i = 0; i < a.size(); i++) {
        uint64_t v = 0;
        for (unsigned k = 0; k < size; k++) v |= uint64_t(raw[i * size + k]) << (8 * k);
        if (sign && size < 8 && (v >> (8 * size - 1)) & 1) v |= ~uint64_t(0) << (8 * size);
        a.values[i] = int64_t(v);
    }
    return a;
}

inline void write_npy_8bit(const std::string& path, const std::vector<size_t>& shape, const std::vector<uint8_t>& data,
                           bool is_signed) {
    std::string sh = "(";
    for (size_t i = 0; i < shape.size(); i++) sh += (i ? ", " : "") + std::to_string(shape[i]);
    sh += shape.size() == 1 ? ",)" : ")";
    std::string hdr = std::string("{'descr': '") + (is_signed ? "|i1" : "|u1") + "', 'fortran_order': False, 'shape': " +
                      sh + ", }";
    while ((10 + hdr.size() + 1) % 64) hdr += ' ';
    hdr += '\n';
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(path + ": cannot write");
    f.write("\x93NUMPY\x01\x00", 8);
    const unsigned char hl[2] = {uint8_t(hdr.size()), uint8_t(hdr.size() >> 8)};
    f.write(reinterpret_cast<const char*>(hl), 2);
    f.write(hdr.data(), hdr.size());
    f.write(reinterpret_cast<const char*>(data.data()), data.size());
    if (!f) throw std::runtime_error(path + ": write failed");
}

}  // namespace asymap_host

#endif
