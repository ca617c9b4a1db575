// PackedFiles: the files an image's root file system is packed from, kept in the image cache by
// content (files/<sha256> in the image's directory, hard links into the content store), with a
// manifest that says where each goes. Identical files of different images are then on disk once,
// and the packed root file system (an initrd today, a disk image tomorrow) is a product that can
// be evicted and packed again from them without the host's files.
#pragma once

#include <filesystem>
#include <string>

#include "cli_error.h"
#include "content_store.h"
#include "rootfs_tree.h"

struct StoredTree {
  RootfsTree tree;       // the same entries, every file read from files/<sha256>
  std::string manifest;  // what read_manifest() turns back into `tree`
};

// Copies every file of `tree` (host files and generated ones) into `files_dir` named by its
// SHA-256, shared through `store`: a file the store already holds is linked, not copied.
// `files_dir` must be on the store's file system. Failures: kCliFailure.
CliResult<StoredTree> store_tree(const RootfsTree& tree, const ContentStore& store,
                                 const std::filesystem::path& files_dir);

// The tree a manifest describes, its files read from `files_dir`. A damaged manifest, or one
// naming a file that is missing, fails with kBadImage.
CliResult<RootfsTree> read_manifest(const std::string& manifest,
                                    const std::filesystem::path& files_dir);
