/* A library the dlclose test (malloc_log_dlclose_test.sh) loads twice under two names, built from
 * this file with MODULE_FRAME 8 and 40: the same bytes at the same offsets but for two immediates,
 * so its call to malloc returns to the same offset in both, where the frames differ (CFA at
 * rsp + 16 or rsp + 48). An unwinder that kept the first library's rule for that address would
 * read the second's return address from rsp + 8, which the second zeroes: the stack would end. */
#ifndef MODULE_FRAME
#error "MODULE_FRAME: 8 or 40"
#endif
#define STR2(x) #x
#define STR(x) STR2(x)

/* void* module_alloc(size_t n): malloc(n) from a frame of MODULE_FRAME bytes. */
__asm__(".text\n"
        ".globl module_alloc\n"
        ".type module_alloc, @function\n"
        ".p2align 6\n"
        "module_alloc:\n"
        ".cfi_startproc\n"
        "  subq $" STR(MODULE_FRAME) ", %rsp\n"
        "  .cfi_def_cfa_offset " STR(MODULE_FRAME) " + 8\n"
#if MODULE_FRAME == 8
        "  movq $0, -8(%rsp)\n" /* below the frame: the same size as the other's store */
#else
        "  movq $0, 8(%rsp)\n"
#endif
        "  call malloc@PLT\n"
        "  addq $" STR(MODULE_FRAME) ", %rsp\n"
        "  .cfi_def_cfa_offset 8\n"
        "  ret\n"
        ".cfi_endproc\n"
        ".size module_alloc, .-module_alloc\n");
