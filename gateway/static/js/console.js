// The gallery console: the tenant's groups, one page of a group's users with their faces
// (thumbnails where the tenant keeps them: `python -m gateway.tenants thumbnails TENANT on`),
// deleting a face, user or group after a confirmation, and enrolling a whole folder dropped on
// the page, one enroll request per photo, with a progress bar and the failed files listed.
//
// Which user a photo belongs to: a photo inside a subfolder of what was dropped or chosen
// belongs to the user named like that subfolder (alice/1.jpg, alice/2.jpg -> "alice"); a photo
// at the top level belongs to the user named like the file without its extension
// (bob.jpg -> "bob"). Everything the page shows is a function of the language (i18n.js).
import { api, describeError } from "./api.js";
import { bind, LocalizedError, show, t } from "./i18n.js";
import { $, busy, fail, status } from "./ui.js";

const PHOTO = /\.(jpe?g|png|webp|bmp)$/i;

const state = { groups: [], group: "", page: null, offset: 0, loaded: false, enrolling: false };
const thumbnails = new Map(); // face_token -> object URL of its JPEG (fetched once)

const pageSize = () => Number($("console-page-size").value) || 10;

function element(tag, { className, text, title, ...attributes } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (title) node.title = title;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function button(label, onClick, attributes = {}) {
  const node = element("button", { type: "button", text: label, ...attributes });
  node.addEventListener("click", onClick);
  return node;
}

/** Ask before deleting; the page's own confirm() so that a test can accept or dismiss it. */
const confirmed = (key, params) => window.confirm(t(key, params));

// ------------------------------------------------------------------ groups

async function loadGroups() {
  try {
    const result = await api.listGroups();
    state.groups = result.groups;
    if (!state.groups.some((group) => group.group_id === state.group)) {
      state.group = state.groups.length ? state.groups[0].group_id : "";
      state.offset = 0;
    }
    bind($("console-groups"), renderGroups);
    await loadUsers();
  } catch (error) {
    fail("console", error);
  }
}

function renderGroups(list) {
  list.replaceChildren(...state.groups.map((group) => {
    const select = button(group.group_id, () => selectGroup(group.group_id), {
      className: "link", "aria-pressed": String(group.group_id === state.group) });
    const counts = element("span", { className: "counts",
      text: `${t("n.users", { count: group.user_count })}${t("sep")}${t("n.faces", { count: group.face_count })}` });
    const remove = button(t("console.delete"), () => deleteGroup(group), {
      className: "danger", "data-delete-group": group.group_id,
      "aria-label": t("console.deleteGroupLabel", { group: group.group_id }) });
    return element("li", { "data-group": group.group_id,
      className: group.group_id === state.group ? "selected" : "" }, [select, counts, remove]);
  }));
  if (!state.groups.length) list.append(element("li", { className: "empty", text: t("console.noGroups") }));
}

function selectGroup(groupId) {
  state.group = groupId;
  state.offset = 0;
  bind($("console-groups"), renderGroups);
  loadUsers();
}

async function createGroup() {
  const create = /** @type {HTMLButtonElement} */ ($("console-create"));
  if (create.disabled) return; // a double click creates once (the second got ALREADY_EXISTS)
  const groupId = $("console-new-group").value.trim();
  create.disabled = true;
  try {
    if (!groupId) throw new LocalizedError("console.needGroupId");
    await api.createGroup(groupId);
    $("console-new-group").value = "";
    state.group = groupId;
    state.offset = 0;
    status("console", () => t("console.created", { group: groupId }), "ok");
    await loadGroups();
  } catch (error) {
    fail("console", error);
  } finally {
    create.disabled = false;
  }
}

async function deleteGroup(group) {
  if (!confirmed("console.confirmGroup", { group: group.group_id, users: t("n.users", { count: group.user_count }) })) {
    status("console", () => t("console.kept"), "warn");
    return;
  }
  try {
    await api.deleteGroup(group.group_id);
    status("console", () => t("console.deletedGroup", { group: group.group_id }), "ok");
    await loadGroups();
  } catch (error) {
    fail("console", error);
  }
}

// ------------------------------------------------------------------- users

let usersLoad = 0;

async function loadUsers() {
  if (!state.group) {
    ++usersLoad; // a load still on its way is for a group that is gone
    state.page = null;
    bind($("console-users"), renderUsers);
    return;
  }
  // Only the latest load is shown: a page asked for earlier and answered late (another group's,
  // or the same page before a delete) must not replace it, nor its error.
  const load = ++usersLoad;
  try {
    const page = await api.listUsers(state.group, state.offset, pageSize());
    if (load !== usersLoad) return;
    if (!page.users.length && page.total > 0 && state.offset > 0) { // the last page emptied
      state.offset = Math.max(0, Math.floor((page.total - 1) / pageSize()) * pageSize());
      return loadUsers();
    }
    state.page = page;
    bind($("console-users"), renderUsers);
    await Promise.all(page.users.flatMap((user) => user.faces
      .filter((face) => face.has_thumbnail && !thumbnails.has(face.face_token))
      .map((face) => loadThumbnail(user, face))));
  } catch (error) {
    if (load === usersLoad) fail("console", error);
  }
}

async function loadThumbnail(user, face) {
  try {
    const blob = await api.thumbnail(user.group_id, user.user_id, face.face_token);
    thumbnails.set(face.face_token, URL.createObjectURL(blob));
    const image = document.querySelector(`img[data-face="${face.face_token}"]`);
    if (image) image.src = thumbnails.get(face.face_token);
  } catch { /* shown as the placeholder */ }
}

function renderUsers(container) {
  const page = state.page;
  if (!page) {
    container.replaceChildren(element("p", { className: "empty", text: t("console.pickGroup") }));
    renderPager();
    return;
  }
  const cards = page.users.map((user) => {
    const heading = element("div", { className: "user-head" }, [
      element("strong", { text: user.user_id }),
      element("span", { className: "counts", text: user.user_info }),
      button(t("console.deleteUser"), () => deleteUser(user), {
        className: "danger", "data-delete-user": user.user_id,
        "aria-label": t("console.deleteUserLabel", { user: user.user_id }) }),
    ]);
    const faces = element("ul", { className: "faces" }, user.faces.map((face) => faceItem(user, face)));
    return element("li", { className: "user", "data-user": user.user_id }, [heading, faces]);
  });
  container.replaceChildren(element("ul", { className: "users" }, cards));
  if (!page.users.length) container.append(element("p", { className: "empty", text: t("console.noUsers") }));
  renderPager();
}

function faceItem(user, face) {
  const when = new Date(face.created_at * 1000).toLocaleString(document.documentElement.lang);
  const picture = face.has_thumbnail
    ? element("img", { className: "thumb", alt: t("console.thumbnailAlt", { user: user.user_id }),
      "data-face": face.face_token, width: "112", height: "112" })
    : element("span", { className: "thumb none", text: t("console.noThumbnail"),
      title: t("console.noThumbnailHint") });
  if (face.has_thumbnail && thumbnails.has(face.face_token)) picture.src = thumbnails.get(face.face_token);
  const remove = button("×", () => deleteFace(user, face), {
    className: "danger remove", "data-delete-face": face.face_token,
    "aria-label": t("console.deleteFaceLabel", { user: user.user_id }), title: t("console.deleteFace") });
  return element("li", { className: "face", "data-face-token": face.face_token,
    title: t("console.faceTitle", { token: face.face_token, when }) }, [picture, remove]);
}

function renderPager() {
  const page = state.page;
  const total = page ? page.total : 0;
  const pages = Math.max(1, Math.ceil(total / pageSize()));
  const current = Math.floor(state.offset / pageSize()) + 1;
  show($("console-page"), () => (page ? t("console.pageOf", { page: current, pages, users: t("n.users", { count: total }) }) : ""));
  $("console-prev").disabled = !page || state.offset === 0;
  $("console-next").disabled = !page || state.offset + pageSize() >= total;
}

function turnPage(direction) {
  state.offset = Math.max(0, state.offset + direction * pageSize());
  loadUsers();
}

async function deleteUser(user) {
  if (!confirmed("console.confirmUser", { user: user.user_id, faces: t("n.faces", { count: user.faces.length }) })) {
    status("console", () => t("console.kept"), "warn");
    return;
  }
  try {
    await api.deleteUser(user.group_id, user.user_id);
    forget(user.faces);
    status("console", () => t("console.deletedUser", { user: user.user_id }), "ok");
    await loadGroups();
  } catch (error) {
    fail("console", error);
  }
}

async function deleteFace(user, face) {
  if (!confirmed("console.confirmFace", { user: user.user_id })) {
    status("console", () => t("console.kept"), "warn");
    return;
  }
  try {
    await api.deleteFace(user.group_id, user.user_id, face.face_token);
    forget([face]);
    status("console", () => t("console.deletedFace", { user: user.user_id }), "ok");
    await loadGroups();
  } catch (error) {
    fail("console", error);
  }
}

function forget(faces) {
  for (const face of faces) {
    const url = thumbnails.get(face.face_token);
    if (url) URL.revokeObjectURL(url);
    thumbnails.delete(face.face_token);
  }
}

// ------------------------------------------------------- folder enrollment

/** The user a photo belongs to, from its path inside what was dropped (see the top). */
export function userFor(path) {
  const parts = path.split("/").filter(Boolean);
  if (parts.length >= 3) return parts[1]; // folder/user/photo.jpg (and deeper)
  const name = parts[parts.length - 1] || "";
  return name.replace(/\.[^.]+$/, "");
}

/** Every file under a dropped entry, with its path ("folder/sub/name.jpg"). */
async function filesOf(entry) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    return [{ file, path: entry.fullPath.replace(/^\//, "") }];
  }
  const reader = entry.createReader();
  const found = [];
  for (;;) { // readEntries answers in batches until an empty one
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    for (const child of batch) found.push(...await filesOf(child));
  }
  return found;
}

async function dropped(transfer) {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry());
  if (entries.length && entries.every(Boolean)) {
    return (await Promise.all(entries.map(filesOf))).flat();
  }
  // No file-system entries (files dropped from a script or an old browser): file names only.
  return [...transfer.files].map((file) => ({ file, path: file.name }));
}

async function enrollAll(items) {
  if (state.enrolling) return;
  const groupId = state.group;
  const errors = $("console-errors");
  errors.replaceChildren();
  try {
    if (!groupId) throw new LocalizedError("console.needGroup");
    const photos = items.filter((item) => PHOTO.test(item.file.name))
      .sort((a, b) => a.path.localeCompare(b.path));
    const skipped = items.length - photos.length;
    if (!photos.length) throw new LocalizedError("console.noPhotos");
    state.enrolling = true;
    const bar = $("console-progress");
    bar.max = photos.length;
    bar.value = 0;
    bar.hidden = false;
    let enrolled = 0;
    const failed = [];
    for (const [index, { file, path }] of photos.entries()) {
      busy("console", () => t("console.enrolling", { n: index + 1, total: photos.length, group: groupId }));
      const user = userFor(path);
      try {
        await api.enroll(groupId, user, file);
        enrolled += 1;
      } catch (error) {
        failed.push({ path, user, error });
        bind(errors, (list) => list.replaceChildren(...failed.map((failure) => element("li", {
          "data-file": failure.path, "data-code": failure.error.code || "",
          text: t("console.fileError", { file: failure.path, user: failure.user, error: describeError(failure.error) }),
        }))));
      }
      bar.value = index + 1;
    }
    const kind = failed.length ? "warn" : "ok";
    status("console", () => t("console.enrolled", { enrolled, total: photos.length,
      failed: failed.length, skipped, group: groupId }), kind);
    await loadGroups();
  } catch (error) {
    fail("console", error);
  } finally {
    state.enrolling = false;
  }
}

// ------------------------------------------------------------------ set-up

/** Load the console the first time its tab is shown (later: the Refresh button). */
export function open() {
  if (state.loaded) return;
  state.loaded = true;
  loadGroups();
}

export function setup() {
  $("console-refresh").addEventListener("click", loadGroups);
  $("console-create").addEventListener("click", createGroup);
  $("console-prev").addEventListener("click", () => turnPage(-1));
  $("console-next").addEventListener("click", () => turnPage(1));
  $("console-page-size").addEventListener("change", () => { state.offset = 0; loadUsers(); });
  const zone = $("console-drop");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    enrollAll(await dropped(event.dataTransfer));
  });
  for (const id of ["console-folder", "console-files"]) {
    $(id).addEventListener("change", (event) => {
      const files = [...event.target.files];
      event.target.value = "";
      enrollAll(files.map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    });
  }
}
