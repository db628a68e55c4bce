// Address map in the format Vitis HLS writes at the top of <top>_control_s_axi.v (the harness
// reads the base-address register of each m_axi argument from it):
// 0x00 : Control signals
// 0x10 : Data signal of wmem
//        bit 31~0 - wmem[31:0] (Read/Write)
// 0x14 : Data signal of wmem
//        bit 31~0 - wmem[63:32] (Read/Write)
// 0x18 : reserved
// 0x1c : Data signal of wpre
//        bit 31~0 - wpre[31:0] (Read/Write)
// 0x20 : Data signal of wpre
//        bit 31~0 - wpre[63:32] (Read/Write)
// 0x24 : reserved
