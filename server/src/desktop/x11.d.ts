// Types for the parts of the `x11` package (4.2.x, plain CommonJS, no bundled types) that
// this project uses. Extend it as more of the package is needed; keep it to what is called.

declare module 'x11' {
  import type { EventEmitter } from 'node:events';

  namespace x11 {
    interface Screen {
      root: number;
      root_depth: number;
      root_visual: number;
      white_pixel: number;
      black_pixel: number;
      pixel_width: number;
      pixel_height: number;
    }

    interface Display {
      screen: Screen[];
      min_keycode: number;
      max_keycode: number;
    }

    /** A protocol error reply; socket errors arrive as plain `Error`s with `code`. */
    interface XError extends Error {
      error: number;
      seq: number;
      badParam: number;
      majorOpcode: number;
      minorOpcode: number;
    }

    /** Core events as the package parses them; fields depend on `name`. */
    interface XEvent {
      type: number;
      name: string;
      seq: number;
      /** Window the event is reported relative to (for ConfigureNotify: the configured window). */
      wid?: number;
      /** KeyPress/KeyRelease: the keycode; ButtonPress/ButtonRelease: the button. */
      keycode?: number;
      rootx?: number;
      rooty?: number;
      /** KeyPress/ButtonPress: the modifier and button state before the event. */
      buttons?: number;
      width?: number;
      height?: number;
      /** MappingNotify: 0 modifier, 1 keyboard, 2 pointer. */
      request?: number;
      firstKeyCode?: number;
      count?: number;
      /** XFIXES CursorNotify: serial of the cursor now displayed. */
      cursorSerial?: number;
      /** ConfigureNotify: the configured window (`wid` is the window the event was selected on). */
      wid1?: number;
      /** Map/Unmap/DestroyNotify: the window the event was selected on (`wid` is the subject). */
      event?: number;
      /** XFIXES SelectionNotify: the selection atom and its new owner (0 = none). */
      selection?: number;
      owner?: number;
      /** SelectionRequest / SelectionNotify (core). */
      requestor?: number;
      target?: number;
      property?: number;
      time?: number;
      /** PropertyNotify: the property that changed. */
      atom?: number;
      /** ClientMessage: its type atom and 5 (format 32) data items. */
      message_type?: number;
      format?: number;
      data?: number[];
    }

    interface TranslateCoordinatesReply {
      sameScreen: number;
      /** Child of the destination window containing the point, 0 if none. */
      child: number;
      destX: number;
      destY: number;
    }

    /** An event to send, in the shape the package's parsers produce. */
    interface OutgoingEvent {
      name: 'SelectionNotify';
      time: number;
      requestor: number;
      selection: number;
      target: number;
      property: number;
    }

    type Callback<T> = (err: XError | null | undefined, result: T) => unknown;

    interface QueryPointerReply {
      root: number;
      child: number;
      rootX: number;
      rootY: number;
      childX: number;
      childY: number;
      keyMask: number;
      sameScreen: number;
    }

    interface Geometry {
      windowid: number;
      xPos: number;
      yPos: number;
      width: number;
      height: number;
      borderWidth: number;
      depth: number;
    }

    interface WindowValues {
      eventMask?: number;
      backgroundPixel?: number;
      overrideRedirect?: number;
    }

    interface Image {
      depth: number;
      visualId: number;
      data: Buffer;
    }

    interface Property {
      /** 0 when the property does not exist. */
      type: number;
      format: number;
      bytesAfter: number;
      data: Buffer;
    }

    /** GetWindowAttributes; `mapState` 0 unmapped, 1 unviewable, 2 viewable. */
    interface WindowAttributes {
      mapState: number;
      overrideRedirect: number;
    }

    interface Tree {
      root: number;
      parent: number;
      children: number[];
    }

    interface XkbState {
      /** Effective modifier mask (base | latched | locked). */
      mods: number;
    }

    interface Xkb {
      UseCoreKbd: number;
      UseExtension(wantedMajor: number, wantedMinor: number, callback: Callback<{ supported: number }>): void;
      GetState(deviceSpec: number, callback: Callback<XkbState>): void;
      LatchLockState(
        deviceSpec: number,
        affectModLocks: number,
        modLocks: number,
        lockGroup: boolean,
        groupLock: number,
        affectModLatches: number,
        modLatches: number,
        latchGroup: boolean,
        groupLatch: number,
      ): void;
    }

    interface XTest {
      KeyPress: 2;
      KeyRelease: 3;
      ButtonPress: 4;
      ButtonRelease: 5;
      MotionNotify: 6;
      /** `detail` is the keycode or button (0 = absolute motion); `wid` 0 = current screen. */
      FakeInput(type: number, detail: number, time: number, wid: number, x: number, y: number): void;
    }

    /** XFIXES GetCursorImage: `cursorImage` is width*height premultiplied ARGB32, little endian. */
    interface CursorImageReply {
      x: number;
      y: number;
      width: number;
      height: number;
      xhot: number;
      yhot: number;
      cursorSerial: number;
      cursorImage: Buffer;
    }

    interface XFixes {
      /** Code of the extension's first event: XFIXES SelectionNotify has `type === firstEvent`. */
      firstEvent: number;
      SelectionEventMask: { SetSelectionOwner: number; SelectionWindowDestroy: number; SelectionClientClose: number };
      SelectSelectionInput(window: number, selection: number, eventMask: number): void;
      CursorNotifyMask: { DisplayCursor: number };
      SelectCursorInput(wid: number, eventMask: number): void;
      GetCursorImage(callback: Callback<CursorImageReply>): void;
    }

    interface Client extends EventEmitter {
      display: Display;
      /** The package's cache of interned atoms, name → id and id → name. */
      atoms: Record<string, number>;
      atom_names: Record<number, string>;
      /** The socket; present once the connection is established. */
      stream?: { destroy(): void; once(event: 'close', listener: () => void): unknown };
      AllocID(): number;
      require(extension: 'xtest', callback: (err: Error | null | undefined, ext: XTest) => void): void;
      require(extension: 'xkb', callback: (err: Error | null | undefined, ext: Xkb) => void): void;
      InternAtom(onlyIfExists: boolean, name: string, callback: Callback<number>): void;
      /** `type` 0 = any; offset and length in 4-byte units. */
      GetProperty(
        del: number,
        wid: number,
        name: number,
        type: number,
        longOffset: number,
        longLength: number,
        callback: Callback<Property>,
      ): void;
      QueryTree(wid: number, callback: Callback<Tree>): void;
      GetWindowAttributes(wid: number, callback: Callback<WindowAttributes>): void;
      TranslateCoordinates(srcWid: number, dstWid: number, x: number, y: number, callback: Callback<TranslateCoordinatesReply>): void;
      /** `time` 0 = CurrentTime. */
      SetSelectionOwner(owner: number, selection: number, time: number): void;
      ConvertSelection(requestor: number, selection: number, target: number, property: number, time: number): void;
      SendEvent(destination: number, propagate: number, eventMask: number, event: OutgoingEvent): void;
      /** `eventMask` 0 delivers to the client that owns `destination` (XDND, WM_PROTOCOLS). */
      SendClientMessage(destination: number, wid: number, messageType: number, format: number, data: number[], eventMask: number): void;
      /** `mode` 0 replace, 1 prepend, 2 append; `format` 8, 16 or 32 bits per element. */
      ChangeProperty(mode: number, wid: number, name: number, type: number, format: number, data: Buffer | string | number[]): void;
      /** `format` 2 = ZPixmap. */
      GetImage(
        format: number,
        drawable: number,
        x: number,
        y: number,
        width: number,
        height: number,
        planeMask: number,
        callback: Callback<Image>,
      ): void;
      require(extension: 'fixes', callback: (err: Error | null | undefined, ext: XFixes) => void): void;
      QueryPointer(wid: number, callback: Callback<QueryPointerReply>): void;
      GetGeometry(drawable: number, callback: Callback<Geometry>): void;
      /** Rows of `keysymsPerKeycode` keysyms, one per keycode from `first`. */
      GetKeyboardMapping(first: number, count: number, callback: Callback<number[][]>): void;
      /** `keysyms` is flat: `count * keysymsPerKeycode` entries. */
      ChangeKeyboardMapping(first: number, keysymsPerKeycode: number, keysyms: number[]): void;
      CreateWindow(
        id: number,
        parent: number,
        x: number,
        y: number,
        width: number,
        height: number,
        borderWidth: number,
        depth: number,
        windowClass: number,
        visual: number,
        values: WindowValues,
      ): void;
      ChangeWindowAttributes(wid: number, values: WindowValues): void;
      /** Repaints the area with the window background; width/height 0 mean "to the edge". */
      ClearArea(wid: number, x: number, y: number, width: number, height: number, exposures: number): void;
      MapWindow(wid: number): void;
      UnmapWindow(wid: number): void;
      DestroyWindow(wid: number): void;
      /** `revertTo`: 0 None, 1 PointerRoot, 2 Parent. */
      SetInputFocus(wid: number, revertTo: number): void;
      /** Round trip: resolves once every earlier request was processed. */
      sync(): Promise<void>;
      /** Round trip, then closes the socket; the callback fires once it is gone. */
      close(callback?: (err?: Error) => void): void;
    }

    interface ClientOptions {
      display?: string;
      /** false: plain socket, no fd passing (MIT-SHM) machinery. */
      shm?: boolean;
    }

    function createClient(options: ClientOptions, callback: (err: Error | undefined, display: Display) => void): Client;

    const eventMask: {
      KeyPress: number;
      KeyRelease: number;
      ButtonPress: number;
      ButtonRelease: number;
      PointerMotion: number;
      Exposure: number;
      StructureNotify: number;
      SubstructureNotify: number;
      PropertyChange: number;
    };
  }

  export = x11;
}
